"""Resume: matching what an earlier owner recorded to the triggers replayed now.

A run is identified by its trigger (see :mod:`actors.lineage`): the activity,
the parent run, the link and the item — or, for a junction, just the
activity (it fires at most once per instance). Loop attempts share their
trigger and are kept in attempt order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors import lineage as lin
from actors.runs import COMMON
from actors.store import Item, RecordedRun
from orch.sdk import format_time

Key = tuple[Any, ...]

INTERRUPTED = "interrupted: server lost"
PUBLISHED_STATUS = {
    "success": "success",
    "warning": "warning",
    "failed": "failed",
    "interrupted": "failed",
    "stopped": "failed",
}


def trigger_key(activity: str, parent_run: str | None, link: int, item: int) -> Key:
    if link == lin.JUNCTION_LINK:
        return (activity, lin.JUNCTION_LINK)
    return (activity, parent_run, link, item)


def index_recorded(recorded: Sequence[RecordedRun]) -> dict[Key, list[RecordedRun]]:
    """Recorded runs by trigger, each list in attempt order."""
    out: dict[Key, list[RecordedRun]] = {}
    for r in recorded:
        link = lin.decode(r.lineage).link
        out.setdefault(trigger_key(r.activity, r.parent_run, link, r.item), []).append(r)
    for runs in out.values():
        runs.sort(key=lambda r: r.attempt)
    return out


def common_of(rec: RecordedRun, activity_name: str) -> Item:
    """The common fields of a recorded run (for loop checks on a run with no items)."""
    if rec.published:
        first = rec.published[0]
        return {name: first.get(name, "") for name in COMMON}
    return {
        "Status": PUBLISHED_STATUS.get(rec.status, "failed"),
        "StartTime": format_time(rec.started_at),
        "EndTime": format_time(rec.ended_at or rec.started_at),
        "ErrorSummary": rec.error or "",
        "ActivityName": activity_name,
    }
