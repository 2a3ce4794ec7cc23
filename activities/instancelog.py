"""``write_log``: write a message to the instance log.

The instance log (``GET /api/v1/instances/{id}/log``, the console's instance
page, ``orch instance log``) is where ``run_program`` and ``run_script`` stream
their output; ``write_log`` adds the runbook's own lines to it, on the ``log``
stream. The log keeps text only, so a level other than ``info`` is written as
a prefix, the way PowerShell's ``Write-Warning`` shows it: ``WARNING: disk
almost full``. A message of several lines is written line by line (each line
with the prefix), so every entry stays one line.
"""

from __future__ import annotations

from typing import Literal

from orch.sdk import Context, Inputs, Published, activity

Level = Literal["info", "warning", "error"]

PREFIX: dict[str, str] = {"info": "", "warning": "WARNING: ", "error": "ERROR: "}


class WriteLogInputs(Inputs):
    message: str
    """The text to write (several lines are written as several entries)."""
    level: Level = "info"
    """``info`` (written as is), ``warning`` or ``error`` (written with a ``WARNING:`` or
    ``ERROR:`` prefix). The level does not change the activity's status."""


class WriteLogResult(Published):
    Message: str
    """The message as given (without the level prefix)."""
    Level: str
    """The level it was written with."""
    LineCount: int
    """How many entries were written (the message's lines)."""


@activity(
    "write_log",
    display_name="Write Log",
    category="Utilities",
    rerunnable=True,
)
async def write_log(ctx: Context, inputs: WriteLogInputs) -> WriteLogResult:
    """Write ``message`` to the instance log, with its ``level``; publish what was written.

    The run always succeeds (a warning or error line is information for whoever
    reads the log; link on a condition, or use another activity, to change the
    path). Without an instance log (the Runbook Tester, ``orch test``) the
    lines go to the runbook server's structured log instead.
    """
    prefix = PREFIX[inputs.level]
    lines = inputs.message.splitlines() or [""]
    for line in lines:
        ctx.write_log(prefix + line)
    return WriteLogResult(Message=inputs.message, Level=inputs.level, LineCount=len(lines))
