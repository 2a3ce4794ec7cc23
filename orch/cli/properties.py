"""Runbook property verbs, through the gateway.

- ``orch runbook disable PATH``: new starts are refused (409), queued jobs wait
  (``runbook disabled``), its monitor job is stopped.
- ``orch runbook enable PATH``: it takes jobs again.
"""

from __future__ import annotations

import click

from orch.api.properties import RunbookEnabled
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import runbook


async def _set(remote: Remote, path: str, disabled: bool) -> RunbookEnabled:
    async with remote.client() as client:
        found = await client.find_runbook(path)
        if found is None:
            fail(f"no runbook at {path}")
        return await client.set_runbook_disabled(found.id, disabled)


def _show(path: str, result: RunbookEnabled, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    state = "disabled" if result.disabled else "enabled"
    click.echo(f"runbook {path} {state}")
    for job_id in result.stopped_jobs:
        click.echo(f"  monitor job {job_id} asked to stop")


@runbook.command("disable")
@click.argument("path")
@remote_options
@json_option
@handle_errors
def disable_cmd(path: str, remote: Remote, as_json: bool) -> None:
    """Disable the runbook at PATH: no new jobs, its monitor stopped."""
    _show(path, run(_set(remote, path, True)), as_json)


@runbook.command("enable")
@click.argument("path")
@remote_options
@json_option
@handle_errors
def enable_cmd(path: str, remote: Remote, as_json: bool) -> None:
    """Enable the runbook at PATH again."""
    _show(path, run(_set(remote, path, False)), as_json)
