"""Run one activity in isolation — the test helper for integration packs.

``run_activity`` converts the given properties exactly as the runtime does
(text read as the declared types, errors naming the property), runs the
activity with a real :class:`~orch.sdk.context.Context` and returns its
status and published items as text::

    result = await run_activity(my_activity, {"path": "/tmp/x"})
    assert result.status == "success"
    assert result.items == [{"Size": "0"}]

Properties are taken as already substituted (no ``{id.Field}`` rendering).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from orch.sdk.context import Context, InstanceInfo, Item, RunbookLauncher, VariableLookup
from orch.sdk.convert import convert_inputs, error_summary, to_items
from orch.sdk.declare import ActivityType


class ActivityResult(msgspec.Struct, kw_only=True):
    status: Literal["success", "warning", "failed"]
    items: list[Item]
    """Published items, own fields only (the runtime adds the common fields)."""
    error: str | None = None
    """The run's ErrorSummary (``timeout`` when it ran out of time)."""
    returned_data: dict[str, str] | None = None
    progress: str | None = None


async def run_activity(
    activity: ActivityType,
    properties: Mapping[str, Any] | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    variable_source: VariableLookup | None = None,
    returns: frozenset[str] | None = None,
    runbooks: RunbookLauncher | None = None,
    arrivals: Mapping[str, Sequence[Item]] | None = None,
    timeout_seconds: float | None = None,
    job_id: str = "00000000-0000-4000-8000-000000000001",
    instance_id: str = "00000000-0000-4000-8000-000000000002",
) -> ActivityResult:
    """Run ``activity`` once with ``properties``; never raises for an activity failure."""
    info = InstanceInfo(
        job_id=job_id,
        instance_id=instance_id,
        runbook_name="test",
        parameters=dict(parameters or {}),
        variables=dict(variables or {}),
        variable_source=variable_source,
        returns=returns,
        runbooks=runbooks,
    )
    got = dict(arrivals or {})
    ctx = Context(
        info,
        activity_id=activity.name,
        activity_name=activity.display_name or activity.name,
        run_id="00000000-0000-4000-8000-000000000003",
        arrivals=lambda a: got.get(a, ()),
    )
    limit = timeout_seconds if timeout_seconds is not None else activity.default_timeout
    deadline = asyncio.timeout(limit)
    try:
        inputs = convert_inputs(activity, dict(properties or {}))
        async with deadline:
            out = await activity.fn(ctx, inputs)
        items = to_items(out)
    except Exception as exc:
        error = "timeout" if deadline.expired() else error_summary(exc)
        return ActivityResult(status="failed", items=[], error=error)
    return ActivityResult(
        status=ctx.status,
        items=items,
        error=ctx.message,
        returned_data=ctx.returned_data if ctx.status != "failed" else None,
        progress=ctx.progress_message,
    )
