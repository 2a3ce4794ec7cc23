"""``run_program``: run a program with an argument list — never through a shell.

The program runs in its own session (process group), so a stop or a timeout
kills it *and everything it started*: nothing outlives the run. stdout and
stderr are captured up to ``max_output_bytes`` each; past that the rest is
read and dropped (so the program never blocks on a full pipe) and a marker
says how much was cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec

from activities import _process
from orch.sdk import Context, Inputs, activity

DEFAULT_MAX_OUTPUT = _process.DEFAULT_MAX_OUTPUT


class RunProgramInputs(Inputs):
    program: str
    args: list[str] = []
    env: dict[str, str] = {}
    """Added to (or overriding) the runbook server's environment."""
    cwd: str | None = None
    success_exit_codes: list[int] = msgspec.field(default_factory=lambda: [0])
    split_output: bool = False
    """Publish one item per non-empty stdout line (``Line``, ``LineNumber``)."""
    max_output_bytes: int = DEFAULT_MAX_OUTPUT
    """Captured bytes per stream; the rest is dropped and marked."""


_SPLIT_FIELDS = frozenset({"Line", "LineNumber"})
_WHOLE_FIELDS = frozenset({"Output", "ErrorOutput", "ExitCode"})


def _fields(properties: Mapping[str, Any]) -> frozenset[str] | None:
    split = properties.get("split_output", False)
    if split in (True, "true"):
        return _SPLIT_FIELDS
    if split in (False, "false"):
        return _WHOLE_FIELDS
    return None


def _several(properties: Mapping[str, Any]) -> bool:
    """Several items only with ``split_output`` (or when an expression decides it)."""
    return properties.get("split_output", False) not in (False, "false")


@activity(
    "run_program",
    display_name="Run Program",
    category="System",
    rerunnable=False,
    dynamic_fields=_fields,
    several_items=_several,
)
async def run_program(ctx: Context, inputs: RunProgramInputs) -> list[dict[str, str]]:
    """Run ``program`` with ``args``; publish its output and exit code.

    Without ``split_output``: one item with ``Output`` (stdout, trailing
    newline removed), ``ErrorOutput`` and ``ExitCode``. With it: one item per
    non-empty stdout line with ``Line`` and ``LineNumber`` (1-based). An exit
    code outside ``success_exit_codes`` fails the run (its data is still
    published).
    """
    proc = await _process.start([inputs.program, *inputs.args], env=inputs.env, cwd=inputs.cwd)
    ctx.log.debug("program started", program=inputs.program, pid=proc.pid)
    limit = max(0, inputs.max_output_bytes)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        out_sink, err_sink = _process.log_sinks(ctx)
        async with asyncio.TaskGroup() as tg:
            out_task = tg.create_task(
                _process.capture(proc.stdout, limit, out_sink), name=f"{ctx.run_id}/stdout"
            )
            err_task = tg.create_task(
                _process.capture(proc.stderr, limit, err_sink), name=f"{ctx.run_id}/stderr"
            )
        code = await proc.wait()
    except BaseException:
        # Stop, timeout or failure while it runs: kill the whole process group.
        await _process.kill(proc)
        raise
    output, error_output = out_task.result(), err_task.result()
    if code not in inputs.success_exit_codes:
        first = _process.first_line(error_output)
        ctx.fail(f"exit code {code}" + (f": {first}" if first else ""))
    if inputs.split_output:
        return [
            {"Line": line, "LineNumber": str(n)}
            for n, line in enumerate(output.splitlines(), 1)
            if line
        ]
    return [
        {
            "Output": _process.chomp(output),
            "ErrorOutput": _process.chomp(error_output),
            "ExitCode": str(code),
        }
    ]
