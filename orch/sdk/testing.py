"""Run one activity in isolation — the test helper for integration packs.

``run_activity`` converts the given properties exactly as the runtime does
(text read as the declared types, errors naming the property), runs the
activity with a real :class:`~orch.sdk.context.Context` and returns its
status and published items as text::

    result = await run_activity(my_activity, {"path": "/tmp/x"})
    assert result.status == "success"
    assert result.items == [{"Size": "0"}]

Properties are taken as already substituted (no ``{id.Field}`` rendering).
``ctx.services`` are in-memory (:mod:`orch.sdk.local`) unless ``services``
is given. Monitors run with :func:`run_monitor`, which collects triggers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import msgspec

from orch.sdk.context import Context, InstanceInfo, Item, RunbookLauncher, VariableLookup
from orch.sdk.convert import convert_inputs, error_summary, to_items
from orch.sdk.declare import ActivityType
from orch.sdk.local import memory_services
from orch.sdk.services import Services

RUNBOOK_ID = "00000000-0000-4000-8000-000000000004"


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
    services: Services | None = None,
    runbook_id: str = RUNBOOK_ID,
) -> ActivityResult:
    """Run ``activity`` once with ``properties``; never raises for an activity failure."""
    info = InstanceInfo(
        job_id=job_id,
        instance_id=instance_id,
        runbook_id=runbook_id,
        runbook_name="test",
        runbook_path="/Tests/test",
        parameters=dict(parameters or {}),
        variables=dict(variables or {}),
        variable_source=variable_source,
        returns=returns,
        runbooks=runbooks,
        services=services if services is not None else memory_services(),
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


class MonitorResult(msgspec.Struct, kw_only=True):
    status: Literal["success", "warning", "failed"]
    """How the monitor ended: ``success`` when it was stopped after the triggers
    asked for, or returned by itself; ``failed`` when it raised or timed out."""
    triggers: list[list[Item]]
    """Each trigger's published items (own fields only), in order."""
    error: str | None = None
    progress: str | None = None


class _Collector:
    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.triggers: list[list[Item]] = []
        self.enough = asyncio.Event()

    async def trigger(self, ctx: Context, items: list[Item]) -> str:
        self.triggers.append(items)
        if len(self.triggers) >= self.wanted:
            self.enough.set()
        return f"00000000-0000-4000-8000-{len(self.triggers):012x}"


async def run_monitor(
    activity: ActivityType,
    properties: Mapping[str, Any] | None = None,
    *,
    triggers: int = 1,
    while_watching: Callable[[], Awaitable[Any]] | None = None,
    services: Services | None = None,
    timeout_seconds: float = 30.0,
    runbook_id: str = RUNBOOK_ID,
) -> MonitorResult:
    """Run a monitor until it has triggered ``triggers`` times, then stop it.

    ``while_watching`` is awaited once the monitor reports progress (it is
    armed): make the change it should notice there. A monitor that ends or
    fails before enough triggers returns what it triggered so far; one still
    waiting after ``timeout_seconds`` fails with ``timeout``.
    """
    collector = _Collector(triggers)
    info = InstanceInfo(
        job_id="00000000-0000-4000-8000-000000000001",
        instance_id="00000000-0000-4000-8000-000000000002",
        runbook_id=runbook_id,
        runbook_name="test",
        runbook_path="/Tests/test",
        services=services if services is not None else memory_services(),
        triggers=collector,
    )
    ctx = _WatchedContext(info, activity.name, activity.display_name or activity.name,
                          "00000000-0000-4000-8000-000000000003")  # fmt: skip
    try:
        inputs = convert_inputs(activity, dict(properties or {}))
    except Exception as exc:
        return MonitorResult(status="failed", triggers=[], error=error_summary(exc))
    status: Literal["success", "warning", "failed"] = "success"
    error: str | None = None
    try:
        async with asyncio.timeout(timeout_seconds), asyncio.TaskGroup() as tg:
            run = tg.create_task(activity.fn(ctx, inputs), name=f"monitor:{activity.name}")
            watcher = tg.create_task(
                _watch(ctx, collector, while_watching), name=f"watcher:{activity.name}"
            )
            await asyncio.wait({run, watcher}, return_when=asyncio.FIRST_COMPLETED)
            run.cancel()
            watcher.cancel()
    except TimeoutError:
        status, error = "failed", "timeout"
    except BaseExceptionGroup as group:
        exc = group.exceptions[0]
        status, error = "failed", error_summary(exc)
    if status == "success" and ctx.status != "success":
        status, error = ctx.status, ctx.message
    return MonitorResult(status=status, triggers=collector.triggers, error=error,
                         progress=ctx.progress_message)  # fmt: skip


class _WatchedContext(Context):
    """A context whose first progress report says the monitor is armed."""

    __slots__ = ("armed",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.armed = asyncio.Event()

    def progress(self, message: str) -> None:
        super().progress(message)
        self.armed.set()


async def _watch(
    ctx: _WatchedContext,
    collector: _Collector,
    while_watching: Callable[[], Awaitable[Any]] | None,
) -> None:
    if while_watching is not None:
        await ctx.armed.wait()
        await while_watching()
    await collector.enough.wait()
