"""An instance's moving parts: activity state, triggers, finished runs, scopes.

Plain slotted classes: the actor creates several per activity run, so they
cost a few attribute writes each.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from actors.blueprint import ActivitySpec
from actors.lineage import JUNCTION_LINK
from actors.mailbox import Mailbox
from actors.store import Item, RecordedRun
from orch.errors import ExpressionError

Bindings = dict[str, Mapping[str, str]]
"""Activity id → the item a run is bound to on its path (a joined item when flattened)."""

COMMON = ("Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName")


class ActivityState:
    """One activity within one instance: its counters and its inbox."""

    __slots__ = ("arrivals", "busy", "inbox", "limit", "resolved", "running", "spec")

    def __init__(self, spec: ActivitySpec, limit: int) -> None:
        self.spec = spec
        self.limit = 1 if spec.is_junction else limit
        self.running = 0
        """Runs executing (each holds one of ``limit`` slots)."""
        self.busy = 1 if spec.is_junction else 0
        """Triggers delivered and not done (delayed, queued or running); an
        unresolved junction counts one, as it may still fire."""
        self.inbox: Mailbox[Trigger] | None = None
        """Created when a trigger first has to queue."""
        self.resolved = False
        self.arrivals: list[tuple[str, Run, int]] | None = [] if spec.is_junction else None
        """Junction: (source activity, run, item) of every item that arrived, in order."""


class Run:
    """A finished run as routing, scopes and the outcome see it."""

    __slots__ = (
        "activity",
        "attempt",
        "bindings",
        "common",
        "ended",
        "error",
        "items",
        "order",
        "returned",
        "run_id",
        "sources",
        "status",
    )

    def __init__(
        self,
        activity: str,
        run_id: str,
        attempt: int,
        status: str,
        items: list[Item],
        common: Item,
        error: str | None,
        bindings: Bindings,
        ended: datetime,
        returned: dict[str, str] | None,
        sources: list[tuple[Run, int]] | None,
        order: tuple[int, ...] = (),
    ) -> None:
        """``order``: its place in the instance (see :func:`run_order`)."""
        self.activity = activity
        self.run_id = run_id
        self.attempt = attempt
        self.status = status
        self.items = items
        self.common = common
        self.error = error
        self.bindings = bindings
        self.ended = ended
        self.returned = returned
        self.sources = sources
        """Junction with ``return_data_from``: the arrival its item k republishes."""
        self.order = order


def run_order(trigger: Trigger) -> tuple[int, ...]:
    """The place of the run ``trigger`` starts, the same whatever order runs ended in:
    the (link, item) of every trigger on the chain that led to it, from the top (a
    junction, which fires once per instance, is a root of its own). Sorting the
    runs of one activity by it gives item order across a fan-out. Computed only
    for the activities that need it (``ActivitySpec.keyed``): long chains elsewhere
    pay nothing."""
    if trigger.link == JUNCTION_LINK:
        return (JUNCTION_LINK, 0)
    parent = trigger.parent
    base = parent.order if parent is not None else ()
    return (*base, trigger.link, trigger.item)


def order_key(run: Run) -> tuple[int, ...]:
    return run.order


class Trigger:
    """What a followed link delivers: the upstream run and item a new run binds."""

    __slots__ = ("bindings", "item", "lineage", "link", "parent", "prior", "sources")

    def __init__(
        self, parent: Run | None, item: int, link: int, lineage: bytes, bindings: Bindings
    ) -> None:
        self.parent = parent
        self.item = item
        self.link = link
        self.lineage = lineage
        self.bindings = bindings
        self.prior: list[RecordedRun] | None = None
        """On resume: the runs recorded for this trigger (loop attempts in order)."""
        self.sources: list[tuple[Run, int]] | None = None


class InstanceData:
    """What an instance's templates read besides a run's own bindings."""

    __slots__ = ("_past", "finals", "latest", "runbook_data", "variables")

    def __init__(self) -> None:
        self.latest: dict[str, Mapping[str, str]] = {}
        """Per activity, the first item of its latest final run (for references
        to activities not on a run's path that no junction settled)."""
        self.runbook_data: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        self.finals: dict[str, list[Run]] = {}
        """Final runs of the activities referenced past a junction."""
        self._past: dict[str, list[Item]] = {}

    def past_items(self, activity: str) -> list[Item]:
        """Every item of every final run of ``activity``, in item order. Only asked
        past a junction that waited for all of them, so the list is complete."""
        items = self._past.get(activity)
        if items is None:
            runs = sorted(self.finals.get(activity, ()), key=order_key)
            items = self._past[activity] = [item for run in runs for item in run.items]
        return items


class RunScope:
    """Values for one run's templates: its path's bindings; past a junction, all the
    runs of the activity (orch/document/README.md); else the instance's latest."""

    __slots__ = ("bindings", "data", "spec")

    def __init__(self, data: InstanceData, bindings: Bindings, spec: ActivitySpec) -> None:
        self.data = data
        self.bindings = bindings
        self.spec = spec

    def value(self, activity: str, field: str) -> str:
        item = self.bindings.get(activity)
        if item is None:
            if activity in self.spec.past:
                return self._past_value(activity, field)
            item = self.data.latest.get(activity)
            if item is None:
                raise ExpressionError(f"activity {activity} has published nothing on this path")
        return item[field]

    def _past_value(self, activity: str, field: str) -> str:
        items = self.data.past_items(activity)
        separator = self.spec.separator
        if separator is not None:
            return separator.join(item.get(field, "") for item in items)
        if len(items) == 1:
            return items[0][field]
        if not items:
            raise ExpressionError(f"activity {activity} did not run before the junction")
        raise ExpressionError(  # the validator rules this out; never pick one
            f"activity {activity} published {len(items)} items before the junction "
            "(set flatten to join them)"
        )

    def runbook(self, field: str) -> str:
        return self.data.runbook_data[field]

    def variable(self, name: str) -> str:
        return self.data.variables[name]


def bind(run: Run, k: int, item: Item) -> Bindings:
    """Bindings of a run triggered by ``item`` (the k-th) of ``run``."""
    sources = run.sources
    if sources and k < len(sources):
        # a junction's item k republishes an arrival: keep that arrival's lineage
        src, sk = sources[k]
        bindings = dict(src.bindings)
        bindings[src.activity] = src.items[sk]
    else:
        bindings = dict(run.bindings)
    bindings[run.activity] = item
    return bindings


def join_items(items: list[Item], separator: str) -> Item:
    """Flatten: each field joined over the items, in item order."""
    fields: dict[str, None] = {}
    for item in items:
        for name in item:
            fields[name] = None
    return {name: separator.join(item.get(name, "") for item in items) for name in fields}


def fmt_time(dt: datetime) -> str:
    """RFC 3339 UTC of an aware UTC datetime (the runtime's own clock readings)."""
    return dt.isoformat()[:-6] + "Z"
