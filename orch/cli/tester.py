"""``orch test FILE_OR_PATH`` — the Runbook Tester.

Runs a runbook in this process, in memory (no runbook server, no database,
no job of anyone touched), showing each activity run: status, duration,
published data, and why each link was followed or not. A document with test
cases (``tests``) has its cases run instead, unless parameters, ``--step``,
``--break`` or ``--no-cases`` ask for one run.

Exit status: one run — 0 success, 2 warning, 1 otherwise (as
``orch job start --wait``); test cases — 0 when every case passed, else 1.
"""

from __future__ import annotations

import os
import sys
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import click

from orch.cli.job import parse_params
from orch.cli.main import cli
from orch.cli.output import fail, handle_errors, json_option, run
from orch.cli.remote import Remote, remote_options
from orch.logging import configure
from orch.sdk import default_registry
from orch.tester import (
    ChildResolver,
    JsonRenderer,
    LineReader,
    StepController,
    TargetInvalid,
    Tester,
    TextRenderer,
    fetch,
    load_file,
    run_cases,
    run_once,
    select_cases,
)


def _prompt(text: str) -> None:
    click.echo(click.style(text, fg="cyan"), nl=False)


def _say_err(text: str) -> None:
    click.echo(text, err=True)


async def _test(
    ref: str,
    *,
    is_file: bool,
    remote: Remote,
    params: dict[str, str],
    variables: dict[str, str],
    step: bool,
    breaks: tuple[str, ...],
    cases: tuple[str, ...],
    no_cases: bool,
    as_json: bool,
) -> int:
    registry = default_registry()
    observer = JsonRenderer() if as_json else TextRenderer()
    file = Path(ref)
    async with AsyncExitStack() as stack:
        client = None
        if remote.url is not None or not is_file:
            client = await stack.enter_async_context(remote.client())
        try:
            if is_file:
                target = load_file(file, registry)
            else:
                assert client is not None
                target = await fetch(client, ref, registry)
        except TargetInvalid as e:
            observer(e.event)
            return 1
        unknown = [b for b in breaks if b not in target.compiled.activities]
        if unknown:
            ids = ", ".join(target.compiled.activities)
            fail(f"--break {unknown[0]}: {target.compiled.path} has no such activity (ids: {ids})")
        controller = None
        if step or breaks:
            controller = StepController(
                step=step,
                breaks=frozenset(breaks),
                reader=LineReader(),
                prompt=None if as_json else _prompt,
                say=_say_err if as_json else click.echo,
            )
        tester = Tester(
            registry=registry,
            observer=observer,
            resolver=ChildResolver(target.folder, client),
            controller=controller,
            variables=variables,
        )
        has_cases = bool(target.compiled.runbook.tests)
        one_run = bool(params) or step or bool(breaks) or no_cases
        if cases or (has_cases and not one_run):
            chosen = select_cases(target.compiled, cases)
            trace = observer if (len(chosen) == 1 and cases) or controller else None
            return await run_cases(tester, target, chosen, trace=trace)
        return await run_once(tester, target, params)


def _looks_like_id(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


@cli.command("test")
@click.argument("ref", metavar="FILE_OR_PATH")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of the runbook (repeatable).",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="A global variable's value for {variable:NAME} (repeatable).",
)
@click.option("--step", is_flag=True, help="Pause before every activity run.")
@click.option(
    "--break",
    "breaks",
    multiple=True,
    metavar="ID",
    help="Pause before each run of activity ID (repeatable).",
)
@click.option(
    "--case",
    "cases",
    multiple=True,
    metavar="NAME",
    help="Run this test case of the document, showing every step (repeatable).",
)
@click.option(
    "--no-cases", is_flag=True, help="Run the runbook once even though the document has test cases."
)
@remote_options
@json_option
@handle_errors
def test(
    ref: str,
    params: tuple[str, ...],
    variables: tuple[str, ...],
    step: bool,
    breaks: tuple[str, ...],
    cases: tuple[str, ...],
    no_cases: bool,
    remote: Remote,
    as_json: bool,
) -> None:
    """Run a runbook locally, in memory, and show every step.

    FILE_OR_PATH is a runbook document file, or the path (/Folder/Name) or id of
    a checked-in runbook (read from the gateway). Child runbooks named by
    invoke_runbook are looked up among the documents beside the file (by
    their path) or by file name, else in the gateway when --url is given.

    Exit status: 0 success, 2 warning, 1 otherwise; with test cases, 0 when
    all pass, else 1.
    """
    configure(level=os.environ.get("ORCH_LOG_LEVEL") or "WARNING")
    is_file = Path(ref).is_file()
    if not is_file and (ref.endswith(".json") or not (ref.startswith("/") or _looks_like_id(ref))):
        raise FileNotFoundError(2, "No such file", ref)
    code = run(
        _test(
            ref,
            is_file=is_file,
            remote=remote,
            params=parse_params(params),
            variables=parse_params(variables),
            step=step,
            breaks=breaks,
            cases=cases,
            no_cases=no_cases,
            as_json=as_json,
        )
    )
    sys.exit(code)
