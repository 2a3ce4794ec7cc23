"""``invoke_runbook``: start another runbook as a child job, optionally waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from orch.sdk import Context, Inputs, activity, reference_problem


class InvokeRunbookInputs(Inputs):
    runbook: str
    """Path (``/Folder/Name``) or id of the runbook to start. A path's ``.``, ``..`` and
    empty segments are refused: at check-in when it is literal, else when it is rendered."""
    parameters: dict[str, str] = {}
    wait: bool = True
    """Wait for the child job to end and publish its returned data."""

    def __post_init__(self) -> None:
        problem = reference_problem(self.runbook)
        if problem is not None:
            raise ValueError(f"runbook: {problem}")


def _fields(properties: Mapping[str, Any]) -> frozenset[str] | None:
    # The child's returned data is only known once the child runbook is resolved.
    return None


@activity(
    "invoke_runbook",
    display_name="Invoke Runbook",
    category="Runbook Control",
    rerunnable=False,
    dynamic_fields=_fields,
)
async def invoke_runbook(ctx: Context, inputs: InvokeRunbookInputs) -> dict[str, str]:
    """Start a child job; publish ``ChildJobId`` and, when waiting, the child's returned data.

    A child that ends ``failed`` or ``stopped`` fails this run (a ``warning``
    child makes it a warning); stopping this run while it waits stops the child.
    """
    launcher = ctx.runbooks
    job_id = await launcher.start(inputs.runbook, dict(inputs.parameters))
    if not inputs.wait:
        return {"ChildJobId": job_id}
    try:
        child = await launcher.wait(job_id)
    except asyncio.CancelledError:
        await launcher.stop(job_id)
        raise
    if child.status in ("failed", "stopped"):
        ctx.fail(f"child job {job_id} ended {child.status}")
    elif child.status == "warning":
        ctx.warn(f"child job {job_id} ended with a warning")
    return {**child.returned_data, "ChildJobId": job_id}
