"""``check_schedule``: is a time inside a named schedule?

Schedules are defined through the API (``PUT /api/v1/schedules/{name}``,
see :mod:`orch.sdk.schedule`); a runbook checks one before doing work only in
a maintenance window, or links on ``Inside``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orch.sdk import ActivityError, Context, Inputs, Published, activity, format_time


class CheckScheduleInputs(Inputs):
    schedule: str
    """Name of the schedule."""
    time: datetime | None = None
    """The time to check (RFC 3339); now when absent."""
    fail_outside: bool = False
    """Fail the run when the time is outside the schedule (instead of publishing Inside=false)."""


class ScheduleCheck(Published):
    Schedule: str
    """The schedule's name."""
    Time: datetime
    """The time checked."""
    Inside: bool
    """true when the time is inside the schedule."""
    NextInside: str
    """The next whole minute inside the schedule after Time (empty when none within a year)."""


@activity("check_schedule", display_name="Check Schedule", category="Scheduling", rerunnable=True)
async def check_schedule(ctx: Context, inputs: CheckScheduleInputs) -> ScheduleCheck:
    """Publish whether the time is inside the named schedule."""
    name = inputs.schedule.strip()
    schedule = await ctx.services.schedules.get(name)
    if schedule is None:
        raise ActivityError(f"no schedule named {name!r}")
    when = inputs.time or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    inside = schedule.contains(when)
    nxt = schedule.next_inside(when)
    out = ScheduleCheck(
        Schedule=name,
        Time=when,
        Inside=inside,
        NextInside=format_time(nxt) if nxt is not None else "",
    )
    if not inside and inputs.fail_outside:
        ctx.fail(f"{format_time(when)} is outside schedule {name!r}")
    return out
