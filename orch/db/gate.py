"""The schedule gate: a runbook's jobs run only inside its named schedule's windows.

The schedule rules are Python (``orch.sdk.schedule.Schedule``, the same code
``check_schedule`` and ``monitor_date_time`` use), so the database cannot
evaluate them. Instead each queued job of a scheduled runbook carries
``gate_until``: the end of the window it may be claimed in, in ``orch_now()``
time (``now()``, or the test clock). The claim takes such a job only while
``gate_until > orch_now()``, so a claim never happens outside a window, even
from a server that has not looked at the schedule lately.

``gate_until`` is set when the job starts (``create_job``) and refreshed by
every runbook server's waiting-reasons round (``refresh_gates``): a window
that opened gives the job a new ``gate_until`` (and wakes the claimer), a
closed one leaves it null with a waiting reason naming the schedule and its
next window. A window's end is looked for at most ``HORIZON`` ahead; a
longer window is simply extended by the next refresh.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from orch.sdk.schedule import Schedule
from orch.sql import Q

__all__ = ["HORIZON", "Gate", "evaluate", "refresh_gates", "schedule_now", "window_end"]

HORIZON = timedelta(minutes=60)
"""How far ahead a window's end is searched (minute steps)."""


@dataclass(frozen=True, slots=True)
class Gate:
    """Where a job stands with its runbook's schedule at ``now``."""

    open_until: datetime | None
    """Claimable until then (None: the gate is closed)."""
    reason: str | None
    """Why it waits (None when open)."""
    next_window: datetime | None = None


def window_end(schedule: Schedule, now: datetime) -> datetime:
    """The first whole minute after ``now`` that is outside (capped at ``now + HORIZON``)."""
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = now + HORIZON
    while t < limit:
        if not schedule.contains(t):
            return t
        t += timedelta(minutes=1)
    return limit


def evaluate(name: str, definition: Any, now: datetime) -> Gate:
    """The gate of a job of a runbook gated by schedule ``name`` (``definition``: its JSON)."""
    if definition is None:
        return Gate(None, f"schedule {name!r} does not exist")
    try:
        schedule = msgspec.convert(definition, Schedule)
    except (msgspec.ValidationError, ValueError) as exc:
        return Gate(None, f"schedule {name!r} is invalid: {exc}")
    if schedule.contains(now):
        return Gate(window_end(schedule, now), None)
    nxt = schedule.next_inside(now)
    if nxt is None:
        return Gate(None, f"outside schedule {name!r}; no window within a year")
    at = nxt.astimezone(now.tzinfo).isoformat().replace("+00:00", "Z")
    return Gate(None, f"outside schedule {name!r}; next window at {at}", nxt)


async def schedule_now(conn: asyncpg.Connection, name: str) -> tuple[Any, datetime]:
    """The schedule's definition (None when missing) and ``orch_now()``."""
    row = await conn.fetchrow(Q.schedule_now, name)
    assert row is not None
    return row["definition"], row["now"]


async def refresh_gates(conn: asyncpg.Connection) -> int:
    """Re-evaluate the gate of every queued job of a scheduled runbook; how many opened."""
    rows = await conn.fetch(Q.gated_jobs)
    if not rows:
        return 0
    gates: dict[str, Gate] = {}
    ids: list[uuid.UUID] = []
    until: list[datetime | None] = []
    reasons: list[str | None] = []
    opened = 0
    for row in rows:
        name = row["schedule_name"]
        gate = gates.get(name)
        if gate is None:
            gate = gates[name] = evaluate(name, row["definition"], row["now"])
        still_open = row["gate_until"] is not None and row["gate_until"] > row["now"]
        if gate.open_until is not None and not still_open:
            opened += 1
        if row["gate_until"] == gate.open_until and (
            gate.open_until is not None or row["waiting_reason"] == gate.reason
        ):
            continue
        ids.append(row["id"])
        until.append(gate.open_until)
        reasons.append(gate.reason)
    if ids:
        await conn.execute(Q.set_gates, ids, until, reasons)
    return opened
