"""An instance's moving parts: activity state, triggers, finished runs, scopes.

Plain slotted classes: the actor creates several per activity run, so they
cost a few attribute writes each.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from actors.blueprint import ActivitySpec
from actors.mailbox import Mailbox
from actors.store import Item, RecordedRun
from orch.errors import ExpressionError

if TYPE_CHECKING:
    from actors.instance import InstanceActor

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
    ) -> None:
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


class RunScope:
    """Values for one run's templates: its path's bindings, else the instance's latest."""

    __slots__ = ("actor", "bindings")

    def __init__(self, actor: InstanceActor, bindings: Bindings) -> None:
        self.actor = actor
        self.bindings = bindings

    def value(self, activity: str, field: str) -> str:
        item = self.bindings.get(activity)
        if item is None:
            item = self.actor.latest.get(activity)
            if item is None:
                raise ExpressionError(f"activity {activity} has published nothing on this path")
        return item[field]

    def runbook(self, field: str) -> str:
        return self.actor.runbook_data[field]

    def variable(self, name: str) -> str:
        return self.actor.variables[name]


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
