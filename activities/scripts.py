"""``run_script``: run script text with a chosen interpreter (python3, bash, sh, pwsh).

The script is written to a private temporary folder and the interpreter is
given the file's path and the arguments as an argument list — never a shell
string, so nothing in the script or its arguments is parsed twice. Output
lines go to the instance log as they arrive; the process group is killed on a
stop, a runbook timeout or the script's own ``timeout_seconds``.

With ``publish``, the script can publish values of its own (as SCO's "Run
.Net Script" published its variables): it writes a JSON object to the file
named by ``$ORCH_PUBLISH_FILE``, and each listed name becomes a field.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from activities import _process
from orch.sdk import ActivityError, Context, Inputs, Published, activity

Interpreter = Literal["python3", "bash", "sh", "pwsh"]

_SUFFIX: dict[str, str] = {"python3": ".py", "bash": ".sh", "sh": ".sh", "pwsh": ".ps1"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWN = frozenset({"Output", "ErrorOutput", "ExitCode"})
_RESERVED = _OWN | {"Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName"}
PUBLISH_ENV = "ORCH_PUBLISH_FILE"


class RunScriptInputs(Inputs):
    script: str
    """The script's text."""
    interpreter: Interpreter = "bash"
    """Which interpreter runs it: python3, bash, sh, or pwsh (PowerShell, where installed)."""
    args: list[str] = []
    """Arguments given to the script (``$1``… in bash/sh, ``sys.argv[1:]``, ``$args``)."""
    env: dict[str, str] = {}
    """Environment variables added to (or overriding) the runbook server's."""
    cwd: str | None = None
    """Working folder of the script (default: the runbook server's)."""
    timeout_seconds: float | None = None
    """Kill the script after this many seconds; the run fails but publishes its output so far."""
    success_exit_codes: list[int] = msgspec.field(default_factory=lambda: [0])
    """Exit codes that count as success; any other fails the run (its data is still published)."""
    max_output_bytes: int = _process.DEFAULT_MAX_OUTPUT
    """Captured bytes per stream; the rest is dropped and marked."""
    log_output: bool = True
    """Write each output line to the instance log as it arrives."""
    publish: list[str] = []
    """Fields the script publishes besides its output: it writes a JSON object to the file
    named by ``$ORCH_PUBLISH_FILE``; each name listed is published (absent: empty)."""

    def __post_init__(self) -> None:
        for name in self.publish:
            if not _NAME.fullmatch(name) or name in _RESERVED:
                raise ValueError(f"publish: {name!r} cannot be a field name (letters, digits "
                                 "and _, not Output, ErrorOutput, ExitCode or a common field)")


class ScriptResult(Published):
    Output: str
    """Standard output, one trailing newline removed."""
    ErrorOutput: str
    """Standard error, one trailing newline removed."""
    ExitCode: int
    """The script's exit code (negative: killed by that signal)."""


def interpreter_argv(interpreter: str, script_path: str, args: list[str]) -> list[str]:
    """The argument list that runs ``script_path`` with ``interpreter``."""
    if interpreter == "python3":
        exe = shutil.which("python3") or sys.executable
        return [exe, "-u", script_path, *args]
    exe = shutil.which(interpreter)
    if exe is None:
        raise ActivityError(
            f"property interpreter: {interpreter} is not installed on this runbook server"
        )
    if interpreter == "pwsh":
        return [exe, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", script_path, *args]
    return [exe, script_path, *args]


def _fields(properties: Mapping[str, Any]) -> frozenset[str] | None:
    publish = properties.get("publish", [])
    if isinstance(publish, list) and all(isinstance(n, str) for n in publish):
        return _OWN | frozenset(publish)
    return None


@activity(
    "run_script",
    display_name="Run Script",
    category="System",
    rerunnable=False,
    dynamic_fields=_fields,
)
async def run_script(ctx: Context, inputs: RunScriptInputs) -> dict[str, str]:
    """Run a script with python3, bash, sh or pwsh; publish its output and exit code.

    The script text is written to a temporary file (removed afterwards) and run
    as ``interpreter FILE ARGS…`` without a shell. ``Output`` and
    ``ErrorOutput`` are the captured streams, ``ExitCode`` the exit code. An
    exit code outside ``success_exit_codes``, or passing ``timeout_seconds``,
    fails the run while still publishing what was captured. Published:
    ``Output`` (standard output, one trailing newline removed), ``ErrorOutput``
    (standard error, the same), ``ExitCode`` (negative: killed by that signal),
    and each name in ``publish``, read from the JSON object the script wrote to
    ``$ORCH_PUBLISH_FILE`` (a string as is, null as empty, anything else as JSON).
    """
    if inputs.timeout_seconds is not None and inputs.timeout_seconds <= 0:
        raise ActivityError("property timeout_seconds: must be greater than 0")
    if inputs.max_output_bytes < 0:
        raise ActivityError("property max_output_bytes: must not be negative")
    folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="orch-script-")
    try:
        path = Path(folder) / ("script" + _SUFFIX[inputs.interpreter])
        await asyncio.to_thread(path.write_text, inputs.script, "utf-8")
        argv = interpreter_argv(inputs.interpreter, str(path), inputs.args)
        publish_file = Path(folder) / "published.json"
        if inputs.publish:
            inputs = msgspec.structs.replace(
                inputs, env={**inputs.env, PUBLISH_ENV: str(publish_file)})
        result = await _run(ctx, inputs, argv)
        out = {"Output": result.Output, "ErrorOutput": result.ErrorOutput,
               "ExitCode": str(result.ExitCode)}
        if inputs.publish:
            out.update(await asyncio.to_thread(_published, ctx, inputs, publish_file))
        return out
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _published(ctx: Context, inputs: RunScriptInputs, file: Path) -> dict[str, str]:
    """The ``publish`` names' values from the file the script wrote (empty when it wrote
    none); a file that is not a JSON object fails the run."""
    values: dict[str, Any] = {}
    try:
        if file.stat().st_size > max(inputs.max_output_bytes, 1):
            ctx.fail(f"the published-data file is larger than {inputs.max_output_bytes} bytes")
        else:
            data = json.loads(file.read_text("utf-8-sig"))
            if isinstance(data, dict):
                values = data
            else:
                ctx.fail(f"${PUBLISH_ENV} must hold a JSON object, not {type(data).__name__}")
    except FileNotFoundError:
        pass
    except (ValueError, UnicodeDecodeError) as e:
        ctx.fail(f"${PUBLISH_ENV} is not JSON: {e}")
    out: dict[str, str] = {}
    for name in inputs.publish:
        value = values.get(name)
        out[name] = ("" if value is None else value if isinstance(value, str)
                     else json.dumps(value, ensure_ascii=False))  # fmt: skip
    return out


async def _run(ctx: Context, inputs: RunScriptInputs, argv: list[str]) -> ScriptResult:
    proc = await _process.start(argv, env=inputs.env, cwd=inputs.cwd)
    ctx.log.debug("script started", interpreter=inputs.interpreter, pid=proc.pid)
    out_sink, err_sink = _process.log_sinks(ctx)
    if inputs.log_output:
        log = ctx.log
        to_log_out, to_log_err = out_sink, err_sink

        def out_sink(line: str) -> None:
            log.info("script output", stream="stdout", line=line)
            if to_log_out is not None:
                to_log_out(line)

        def err_sink(line: str) -> None:
            log.info("script output", stream="stderr", line=line)
            if to_log_err is not None:
                to_log_err(line)

    timed_out = False
    try:
        assert proc.stdout is not None and proc.stderr is not None
        async with asyncio.TaskGroup() as tg:
            out = tg.create_task(
                _process.capture(proc.stdout, inputs.max_output_bytes, out_sink),
                name=f"{ctx.run_id}/stdout",
            )
            err = tg.create_task(
                _process.capture(proc.stderr, inputs.max_output_bytes, err_sink),
                name=f"{ctx.run_id}/stderr",
            )
            waiter = tg.create_task(proc.wait(), name=f"{ctx.run_id}/wait")
            _, pending = await asyncio.wait({out, err, waiter}, timeout=inputs.timeout_seconds)
            if pending:
                timed_out = True
                await _process.kill(proc)
    except BaseException:
        # A stop, a runbook timeout or a failure while it runs: nothing outlives the run.
        await _process.kill(proc)
        raise
    code = waiter.result()
    output, error_output = out.result(), err.result()
    if timed_out:
        ctx.fail(f"script timed out after {inputs.timeout_seconds:g} s")
    elif code not in inputs.success_exit_codes:
        first = _process.first_line(error_output)
        ctx.fail(f"exit code {code}" + (f": {first}" if first else ""))
    return ScriptResult(
        Output=_process.chomp(output),
        ErrorOutput=_process.chomp(error_output),
        ExitCode=code,
    )
