"""What a reference past a junction means (orch/document/README.md "Data past a junction").

A run's references resolve through its *bindings*: the items on the chain of
runs that triggered it. A junction starts a fresh chain (plus, with
``return_data_from``, the chain of the arrival it republishes), so an activity
upstream of the junction may be *unbound* for the runs after it. Every run of
such an activity has ended by then (the junction waited for it): the
reference means all of those runs' values, and this module decides, at
check-in, whether that is one value or several:

- with ``flatten`` on the referencing activity it binds them all, joined in
  item order (what flatten does before a junction);
- without, it must be a single value: an activity that may run several times
  (or publish several items) on the paths into the junction is a fault that
  names it and suggests ``flatten`` or the junction's ``return_data_from``.

The analysis is static and errs on the side of "several": an activity may run
several times when it has more than one incoming link, or when the activity
above it may publish several items in all (a fan-out) and it does not flatten
them; a junction runs once and publishes one item, or those of its
``return_data_from`` branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orch.document.faults import Fault
from orch.document.properties import PropertyTree
from orch.sdk.declare import ActivityType

Preds = Mapping[str, Sequence[tuple[str, int]]]


@dataclass(frozen=True)
class Graph:
    """The facts the analysis reads, gathered by the checker."""

    order: Sequence[str]
    """Topological order (every activity after its predecessors)."""
    pred: Preds
    """Activity id → (source id, link index) of each incoming link."""
    types: Mapping[str, ActivityType]
    properties: Mapping[str, Mapping[str, object]]
    flattens: frozenset[str]
    """Activities with ``flatten``."""
    junction_sources: Mapping[str, str]
    upstream: Mapping[str, frozenset[str]]


@dataclass
class Reach:
    """What the analysis found: faults, and per activity the references past a junction."""

    faults: list[Fault] = field(default_factory=list)
    past: dict[str, frozenset[str]] = field(default_factory=dict)
    """Activity id → the activities it references that are unbound past a junction."""


def _is_junction(g: Graph, aid: str) -> bool:
    t = g.types.get(aid)
    return t is not None and t.role == "junction"


def analyze_reach(g: Graph, trees: Mapping[str, PropertyTree]) -> Reach:
    """Bindings, settled activities and multiplicities, then every reference past a junction."""
    bound: dict[str, frozenset[str]] = {}
    """Activities every run of the key is bound to, whatever path triggered it."""
    settled: dict[str, frozenset[str]] = {}
    """Activities whose runs have all ended whenever the key runs."""
    many_runs: dict[str, bool] = {}
    many_total: dict[str, bool] = {}
    """May publish more than one item in all (over all its runs)."""
    empty: frozenset[str] = frozenset()
    for aid in g.order:
        preds = g.pred.get(aid, ())
        junction = _is_junction(g, aid)
        if not preds or junction:
            bound[aid] = empty
            settled[aid] = g.upstream.get(aid, empty) if junction else empty
            runs = False
        else:
            outs_bound = [_bound_out(g, p, bound) for p, _ in preds]
            outs_settled = [_settled_out(g, p, settled) for p, _ in preds]
            bound[aid] = frozenset.intersection(*outs_bound)
            settled[aid] = frozenset.intersection(*outs_settled)
            if len(preds) > 1:
                runs = True
            else:
                p = preds[0][0]
                runs = many_runs[p] if aid in g.flattens else many_total[p]
        if junction:
            source = g.junction_sources.get(aid)
            several = many_total[source] if source is not None else False
        else:
            t = g.types.get(aid)
            several = t is None or t.may_publish_several(g.properties.get(aid, {}))
        many_runs[aid] = runs
        many_total[aid] = runs or several

    reach = Reach()
    position = {aid: i for i, aid in enumerate(g.order)}
    for aid in g.order:
        tree = trees.get(aid)
        if tree is None or not tree.references:
            continue
        upstream = g.upstream.get(aid, empty)
        past = {
            act
            for act, _ in tree.references
            if act in upstream and act not in bound[aid] and act in settled[aid]
        }
        if not past:
            continue
        reach.past[aid] = frozenset(past)
        if aid in g.flattens:
            continue
        for template in tree.templates():
            seen: set[str] = set()
            for act, name, at in template.reference_positions():
                if act not in past or act in seen or not many_total[act]:
                    continue
                seen.add(act)
                junction = max(
                    (
                        j
                        for j in g.upstream.get(aid, empty)
                        if _is_junction(g, j) and act in g.upstream.get(j, empty)
                    ),
                    key=position.__getitem__,
                    default="?",
                )
                what = "may run several times" if many_runs[act] else "may publish several items"
                reach.faults.append(
                    Fault(
                        template.path,
                        f"{{{act}.{name}}} at position {at + 1}: {act!r} {what} on the paths "
                        f"into junction {junction!r}, so past it the reference names no single "
                        f'value: set "flatten" on {aid!r} to bind all of them joined in item '
                        f"order, or set {junction!r}'s return_data_from to the branch that "
                        f"carries {act!r}",
                        "several-values",
                    )
                )
    return reach


def _bound_out(g: Graph, p: str, bound: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Activities bound for the runs that ``p``'s items trigger."""
    if _is_junction(g, p):
        source = g.junction_sources.get(p)
        if source is None:
            return frozenset({p})
        return bound[source] | {source, p}
    return bound[p] | {p}


def _settled_out(g: Graph, p: str, settled: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Activities all ended when a run that ``p`` triggers starts."""
    if _is_junction(g, p):
        return settled[p] | {p}
    return settled[p]
