"""A validated runbook compiled for running: the instance actor's private copy.

Everything the runtime needs per run is computed here once — property
templates, compiled link conditions, incoming/outgoing links, ancestors,
topological order — so running a runbook never parses or re-checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from orch.document.checker import Analysis, analyze
from orch.document.conditions import CompiledCondition, CompiledLink
from orch.document.faults import DocumentInvalid
from orch.document.model import Flatten, Loop, Parameter, ReturnSpec, Runbook
from orch.document.properties import PropertyTree
from orch.sdk.declare import ActivityType
from orch.sdk.registry import Registry


@dataclass(frozen=True, slots=True, eq=False)
class CompiledActivity:
    id: str
    type_name: str
    """As written in the document (``name`` or ``pack:name``)."""
    type: ActivityType
    display_name: str
    """The activity's ``name``, or its id."""
    properties: PropertyTree
    flatten: Flatten | None
    loop_until: tuple[CompiledCondition, ...]
    loop: Loop | None
    timeout_seconds: float | None
    """Its own ``timeout_seconds``, else the type's default (None: no timeout)."""
    incoming: tuple[CompiledLink, ...]
    outgoing: tuple[CompiledLink, ...]
    upstream: frozenset[str]
    """Every ancestor (activities with a chain of links leading here)."""
    index: int
    """Position in the document's ``activities``."""
    is_junction: bool
    return_data_from: str | None = None
    """For a junction: the incoming activity whose items it republishes."""
    past_junction: frozenset[str] = frozenset()
    """Activities it references that are unbound past a junction: a reference
    to one means all of its runs' values (``orch.document.reach``)."""


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRunbook:
    runbook: Runbook
    activities: dict[str, CompiledActivity]
    start: str
    order: tuple[str, ...]
    """Topological order, ties in document order."""
    variables: frozenset[str]
    """Global variables the runbook reads (``{variable:Name}``)."""
    parameters: tuple[Parameter, ...]
    """The start ``initialize_data``'s parameters (empty when it has none)."""
    returns: tuple[ReturnSpec, ...]
    is_monitor: bool
    links: tuple[CompiledLink, ...]
    """Every link, in document order."""

    @property
    def name(self) -> str:
        return self.runbook.name

    @property
    def path(self) -> str:
        return self.runbook.path


def compile_runbook(runbook: Runbook, registry: Registry) -> CompiledRunbook:
    """Validate and compile; raises DocumentInvalid listing every fault."""
    analysis = analyze(runbook, registry)
    if analysis.faults:
        raise DocumentInvalid(analysis.faults)
    return build(analysis)


def build(a: Analysis) -> CompiledRunbook:
    """The CompiledRunbook of an analysis that found no fault."""
    assert not a.faults and a.start is not None, "build() needs a valid runbook"
    incoming: dict[str, list[CompiledLink]] = {aid: [] for aid in a.first}
    outgoing: dict[str, list[CompiledLink]] = {aid: [] for aid in a.first}
    for link in a.links:
        outgoing[link.source].append(link)
        incoming[link.target].append(link)
    activities: dict[str, CompiledActivity] = {}
    for i, act in enumerate(a.runbook.activities):
        atype = a.types[act.id]
        activities[act.id] = CompiledActivity(
            id=act.id,
            type_name=act.type,
            type=atype,
            display_name=act.name or act.id,
            properties=a.trees[act.id],
            flatten=act.flatten,
            loop_until=a.loops[act.id],
            loop=act.loop,
            timeout_seconds=(
                act.timeout_seconds if act.timeout_seconds is not None else atype.default_timeout
            ),
            incoming=tuple(incoming[act.id]),
            outgoing=tuple(outgoing[act.id]),
            upstream=a.upstream[act.id],
            index=i,
            is_junction=atype.role == "junction",
            return_data_from=a.junction_sources.get(act.id),
            past_junction=a.past.get(act.id, frozenset()),
        )
    return CompiledRunbook(
        runbook=a.runbook,
        activities=activities,
        start=a.start,
        order=a.order,
        variables=frozenset().union(*(t.variables for t in a.trees.values())),
        parameters=a.parameters,
        returns=tuple(a.runbook.returns),
        is_monitor=activities[a.start].type.monitor,
        links=tuple(a.links),
    )
