"""What every instance of one runbook version shares, computed once.

A :class:`Blueprint` is derived from a :class:`~orch.document.CompiledRunbook`:
per activity, the values a run needs (its function, durability, timeout,
loop, flatten separator, the inputs already converted when its properties are
literal) and its outgoing links with the lineage bytes each records. Instances
only add counters on top, so starting one costs a few small objects.

Blueprints are cached per compiled runbook (the server caches compiled
runbooks per version, so one blueprint serves every job of that version).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from actors import lineage as lin
from orch.document import CompiledActivity, CompiledLink, CompiledRunbook
from orch.errors import OrchError
from orch.sdk import ActivityType, convert_inputs

_CACHE_SIZE = 256


class OutLink:
    """An outgoing link, ready to route."""

    __slots__ = ("delay", "flat_lineage", "index", "lineage", "link", "target")

    def __init__(self, link: CompiledLink, target: int) -> None:
        self.link = link
        self.index: int = link.index
        self.target = target
        """Position of the target in :attr:`Blueprint.specs`."""
        self.delay: float = link.delay_seconds
        self.lineage = lin.encode(lin.Lineage(link=link.index))
        self.flat_lineage = lin.encode(lin.Lineage(link=link.index, flat=True))


class ActivitySpec:
    """One activity, as every run of it needs it."""

    __slots__ = (
        "durable",
        "fn",
        "id",
        "input_error",
        "is_junction",
        "keyed",
        "literal_inputs",
        "loop_delay",
        "loop_max",
        "loops",
        "name",
        "outgoing",
        "past",
        "position",
        "props",
        "return_data_from",
        "separator",
        "timeout",
        "type",
        "until",
        "upstream",
        "watchers",
    )

    def __init__(self, ca: CompiledActivity, position: int) -> None:
        self.id = ca.id
        self.position = position
        self.name = ca.display_name
        self.type: ActivityType = ca.type
        self.fn = ca.type.fn
        self.durable = not ca.type.rerunnable
        self.timeout = ca.timeout_seconds
        self.props = ca.properties
        self.literal_inputs: Any = None
        """The converted inputs, when no property needs substituting (shared by every run)."""
        self.input_error: OrchError | None = None
        if ca.properties.is_literal:
            try:
                self.literal_inputs = convert_inputs(ca.type, ca.properties.literal_value() or {})
            except OrchError as exc:
                self.input_error = exc
        self.is_junction = ca.is_junction
        self.return_data_from = ca.return_data_from
        self.separator = ca.flatten.separator if ca.flatten is not None else None
        self.past = ca.past_junction
        """Activities its templates reference past a junction (all their runs' values)."""
        self.keyed = False
        """Its runs need their place in the instance (``runs.run_order``): it or an
        activity below it is referenced past a junction or linked into a junction."""
        self.loops = ca.loop is not None
        self.until = ca.loop_until if ca.loop is not None else ()
        self.loop_delay = ca.loop.delay_seconds if ca.loop is not None else 0.0
        self.loop_max = ca.loop.max_attempts if ca.loop is not None else None
        self.outgoing: tuple[OutLink, ...] = ()
        self.upstream: tuple[int, ...] = ()
        """Positions of every ancestor (a junction waits for all of them to be idle)."""
        self.watchers: tuple[int, ...] = ()
        """Positions of the junctions downstream (checked when this activity goes idle)."""


class Blueprint:
    __slots__ = ("collect", "compiled", "index", "returns", "specs", "start")

    def __init__(self, compiled: CompiledRunbook) -> None:
        self.compiled = compiled
        ids = list(compiled.order)
        self.index = {aid: i for i, aid in enumerate(ids)}
        self.specs = tuple(ActivitySpec(compiled.activities[aid], i) for i, aid in enumerate(ids))
        watchers: list[list[int]] = [[] for _ in ids]
        for spec in self.specs:
            ca = compiled.activities[spec.id]
            spec.outgoing = tuple(OutLink(link, self.index[link.target]) for link in ca.outgoing)
            spec.upstream = tuple(sorted(self.index[u] for u in ca.upstream))
            if spec.is_junction:
                for u in spec.upstream:
                    watchers[u].append(spec.position)
        for spec, js in zip(self.specs, watchers, strict=True):
            spec.watchers = tuple(js)
        self.start = self.index[compiled.start]
        self.returns = frozenset(r.name for r in compiled.returns)
        self.collect: frozenset[str] = frozenset().union(*(s.past for s in self.specs))
        """Activities whose final runs an instance keeps (referenced past a junction)."""
        ordered = set(self.collect)
        for spec in self.specs:
            if spec.is_junction:
                ordered.update(link.source for link in compiled.activities[spec.id].incoming)
        for aid in list(ordered):
            ordered.update(compiled.activities[aid].upstream)
        for aid in ordered:
            self.specs[self.index[aid]].keyed = True


_cache: OrderedDict[int, Blueprint] = OrderedDict()


def blueprint_for(compiled: CompiledRunbook) -> Blueprint:
    """The (cached) blueprint of a compiled runbook."""
    key = id(compiled)
    bp = _cache.get(key)
    if bp is not None and bp.compiled is compiled:
        _cache.move_to_end(key)
        return bp
    bp = _cache[key] = Blueprint(compiled)
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return bp
