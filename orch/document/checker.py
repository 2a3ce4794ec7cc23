"""The validator's rules: everything the document types cannot say.

One pass over a decoded runbook collects *every* fault (each with its JSON
path and a stable code, see ``orch.document.faults``) and keeps what it
compiled on the way — property trees, conditions, links, graph facts — so
that compiling a valid runbook (``orch.document.graph``) reuses it.
"""

from __future__ import annotations

import difflib
import heapq
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from orch.document.conditions import (
    CompiledCondition,
    CompiledLink,
    ConditionError,
    compile_conditions,
    compile_link,
)
from orch.document.expr import IDENTIFIER, RUNBOOK_FIELDS, NestingError
from orch.document.faults import Fault, from_msgspec
from orch.document.model import Parameter, Runbook, normalize_folder
from orch.document.paths import path_problem, segment_problem
from orch.document.properties import PropertyTree, child_path, compile_properties_all
from orch.document.reach import Graph, analyze_reach
from orch.document.testcases import check_tests
from orch.document.values import canonical, convert_lenient
from orch.errors import ExpressionError
from orch.sdk.declare import COMMON_FIELDS, ActivityType
from orch.sdk.registry import Registry

RESERVED_IDS: frozenset[str] = frozenset({"runbook", "variable"})
"""Ids that would clash with ``{runbook.X}`` and ``{variable:X}``."""

INITIALIZE_DATA = "core:initialize_data"
RETURN_DATA = "core:return_data"


@dataclass(eq=False)
class Analysis:
    """What one validation pass found and compiled."""

    runbook: Runbook
    faults: list[Fault] = field(default_factory=list)
    first: dict[str, int] = field(default_factory=dict)
    """Activity id → index of the activity that owns it (duplicates excluded)."""
    types: dict[str, ActivityType] = field(default_factory=dict)
    trees: dict[str, PropertyTree] = field(default_factory=dict)
    loops: dict[str, tuple[CompiledCondition, ...]] = field(default_factory=dict)
    links: list[CompiledLink] = field(default_factory=list)
    upstream: dict[str, frozenset[str]] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    start: str | None = None
    parameters: tuple[Parameter, ...] = ()
    junction_sources: dict[str, str] = field(default_factory=dict)
    """Junction id → the incoming activity named by its ``return_data_from``."""
    past: dict[str, frozenset[str]] = field(default_factory=dict)
    """Activity id → the activities it references past a junction (``orch.document.reach``)."""


def analyze(runbook: Runbook, registry: Registry) -> Analysis:
    """Check a decoded runbook against every rule; never raises on a bad document."""
    return _Checker(runbook, registry).run()


def _not_a_name(name: str, kind: str) -> str:
    return f"{name!r} is not a valid {kind}: use letters, digits and _, not starting with a digit"


def _finite_non_negative(x: float) -> bool:
    return math.isfinite(x) and x >= 0


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


class _Checker:
    def __init__(self, runbook: Runbook, registry: Registry) -> None:
        self.rb = runbook
        self.registry = registry
        self.a = Analysis(runbook)
        self.succ: dict[str, list[tuple[str, int]]] = {}
        self.pred: dict[str, list[tuple[str, int]]] = {}
        self._fields: dict[str, frozenset[str] | None] = {}

    def fault(self, path: str, code: str, message: str) -> None:
        self.a.faults.append(Fault(path, message, code))

    def run(self) -> Analysis:
        self.check_runbook()
        self.check_activities()
        self.check_links()
        self.check_graph()
        self.check_core_rules()
        self.check_references()
        self.check_reach()
        self.check_condition_fields()
        self.a.faults.extend(check_tests(self.rb, self.a.start, self.a.parameters))
        return self.a

    # ---- runbook level -----------------------------------------------------------------------

    def check_runbook(self) -> None:
        rb = self.rb
        if not rb.name.strip() or "/" in rb.name:
            self.fault("$.name", "bad-name", "the name must not be empty nor contain '/'")
        elif (problem := segment_problem(rb.name)) is not None:
            self.fault("$.name", "bad-name", problem)
        if (problem := path_problem(rb.folder)) is not None:
            self.fault("$.folder", "bad-folder", problem)
        elif normalize_folder(rb.folder) != rb.folder:
            self.fault(
                "$.folder",
                "bad-folder",
                "the folder must be an absolute path like /Ops/Services "
                f"(did you mean {normalize_folder(rb.folder)!r}?)",
            )
        if rb.max_concurrent_jobs < 0:
            self.fault("$.max_concurrent_jobs", "out-of-range", "must be 0 (no limit) or more")
        self.check_names(
            [(f"$.returns[{i}].name", r.name) for i, r in enumerate(rb.returns)],
            kind="name",
            bad="bad-return-name",
            duplicate="duplicate-return",
        )
        if not rb.activities:
            self.fault("$.activities", "no-activities", "a runbook needs at least one activity")

    # ---- activities --------------------------------------------------------------------------

    def check_activities(self) -> None:
        for i, act in enumerate(self.rb.activities):
            base = f"$.activities[{i}]"
            unique = act.id not in self.a.first
            if not IDENTIFIER.fullmatch(act.id):
                self.fault(f"{base}.id", "bad-id", _not_a_name(act.id, "id"))
            elif act.id in RESERVED_IDS:
                self.fault(
                    f"{base}.id",
                    "reserved-id",
                    f"{act.id!r} is reserved (it means {{{act.id}...}} in expressions)",
                )
            elif not unique:
                self.fault(
                    f"{base}.id",
                    "duplicate-id",
                    f"id {act.id!r} is already used by activities[{self.a.first[act.id]}]",
                )
            atype = self.registry.get(act.type)
            if atype is None:
                self.fault(f"{base}.type", "unknown-type", self._unknown_type(act.type))
            errors: list[ExpressionError] = []
            tree = compile_properties_all(act.properties, path=f"{base}.properties", errors=errors)
            for e in errors:
                code = "too-deep" if isinstance(e, NestingError) else "bad-expression"
                self.fault(e.path or f"{base}.properties", code, e.message)
            if atype is not None:
                self.check_inputs(base, atype, act.properties, tree, [e.path or "" for e in errors])
            if act.timeout_seconds is not None and not _finite_non_negative(act.timeout_seconds):
                self.fault(f"{base}.timeout_seconds", "out-of-range", "must be 0 or more seconds")
            until = self.check_loop(base, act.loop)
            if unique:
                self.a.first[act.id] = i
                self.a.trees[act.id] = tree
                self.a.loops[act.id] = until
                if atype is not None:
                    self.a.types[act.id] = atype

    def _unknown_type(self, name: str) -> str:
        known = sorted({t.name for t in self.registry} | {t.qualified_name for t in self.registry})
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"no installed activity type is called {name!r}{hint}"

    def check_loop(self, base: str, loop: Any) -> tuple[CompiledCondition, ...]:
        if loop is None:
            return ()
        path = f"{base}.loop"
        errors: list[ConditionError] = []
        until = compile_conditions(loop.until, path=f"{path}.until", errors=errors)
        for e in errors:
            self.fault(e.path or path, e.code, e.message)
        if loop.max_attempts is not None and loop.max_attempts < 1:
            self.fault(f"{path}.max_attempts", "out-of-range", "must be 1 or more")
        if not _finite_non_negative(loop.delay_seconds):
            self.fault(f"{path}.delay_seconds", "out-of-range", "must be 0 or more seconds")
        if not loop.until and loop.max_attempts is None:
            self.fault(path, "endless-loop", "a loop needs until conditions or max_attempts to end")
        return until

    def check_inputs(
        self,
        base: str,
        atype: ActivityType,
        raw: Mapping[str, Any],
        tree: PropertyTree,
        bad_paths: list[str],
    ) -> None:
        """Properties against the Inputs: unknown, missing, literal values that cannot fit."""
        path = f"{base}.properties"
        try:
            fields = msgspec.structs.fields(atype.inputs)
        except TypeError:
            return
        by_key = {f.encode_name: f for f in fields}
        before = len(self.a.faults)
        for key in raw:
            if key not in by_key:
                names = ", ".join(sorted(by_key))
                self.fault(
                    child_path(path, key),
                    "unknown-property",
                    f"{atype.name} has no property {key!r}"
                    + (f" (its properties: {names})" if names else " (it takes none)"),
                )
        for f in fields:
            if f.required and f.encode_name not in raw:
                self.fault(
                    child_path(path, f.encode_name),
                    "missing-property",
                    f"{atype.name} requires the property {f.encode_name!r}",
                )
        all_literal = True
        for key, f in by_key.items():
            sub = tree.get(key)
            if sub is None:
                continue
            if not sub.is_literal or any(_under(p, sub.path) for p in bad_paths):
                all_literal = False
                continue
            problem = _conversion_error(sub.literal_value(), f.type)
            if problem is not None:
                self.a.faults.append(
                    from_msgspec(problem, base=child_path(path, key), code="bad-property")
                )
        # Whole-Struct conversion also runs the type's own checks (``__post_init__``).
        if all_literal and len(self.a.faults) == before:
            problem = _conversion_error(tree.literal_value(), atype.inputs)
            if problem is not None:
                self.a.faults.append(from_msgspec(problem, base=path, code="bad-property"))

    # ---- links and the graph -----------------------------------------------------------------

    def check_links(self) -> None:
        self.succ = {aid: [] for aid in self.a.first}
        self.pred = {aid: [] for aid in self.a.first}
        for i, link in enumerate(self.rb.links):
            base = f"$.links[{i}]"
            ends_ok = True
            for key, end in (("from", link.from_), ("to", link.to)):
                if end not in self.a.first:
                    self.fault(f"{base}.{key}", "unknown-activity", f"no activity has id {end!r}")
                    ends_ok = False
            errors: list[ConditionError] = []
            target = self.a.first.get(link.to)
            target_enabled = target is None or self.rb.activities[target].enabled
            compiled = compile_link(link, i, errors=errors, target_enabled=target_enabled)
            for e in errors:
                self.fault(e.path or base, e.code, e.message)
            if not _finite_non_negative(link.delay_seconds):
                self.fault(f"{base}.delay_seconds", "out-of-range", "must be 0 or more seconds")
            if ends_ok:
                self.succ[link.from_].append((link.to, i))
                self.pred[link.to].append((link.from_, i))
                self.a.links.append(compiled)

    def check_graph(self) -> None:
        ids = list(self.a.first)
        starts = [aid for aid in ids if not self.pred[aid]]
        if ids and not starts:
            self.fault(
                "$.activities",
                "no-start",
                "every activity has an incoming link, so none can start the runbook",
            )
        for extra in starts[1:]:
            self.fault(
                f"$.activities[{self.a.first[extra]}]",
                "multiple-starts",
                f"{extra!r} has no incoming link, nor has {starts[0]!r}: "
                "exactly one activity may start the runbook",
            )
        if len(starts) == 1:
            self.a.start = starts[0]
            first = self.a.first[starts[0]]
            if not self.rb.activities[first].enabled:
                self.fault(
                    f"$.activities[{first}].enabled",
                    "disabled-start",
                    f"{starts[0]!r} starts the runbook and cannot be disabled "
                    "(disable the runbook instead)",
                )
        cyclic = False
        for component in _components(ids, self.succ):
            members = set(component)
            if len(component) == 1 and not any(
                w == component[0] for w, _ in self.succ[component[0]]
            ):
                continue
            cyclic = True
            cycle, link = self._cycle(members)
            self.fault(
                f"$.links[{link}]",
                "cycle",
                f"links form a cycle: {' → '.join(cycle)} "
                "(to repeat an activity, give it a loop instead)",
            )
        for aid in ids:
            self.a.upstream[aid] = self._ancestors(aid)
            atype = self.a.types.get(aid)
            if atype is None or not self.pred[aid]:
                continue
            where = f"$.activities[{self.a.first[aid]}].type"
            if atype.monitor:
                self.fault(
                    where,
                    "monitor-not-start",
                    f"{aid!r} is a monitor ({atype.name}): a monitor can only start a runbook, "
                    "but links lead into it",
                )
            elif atype.qualified_name == INITIALIZE_DATA:
                self.fault(
                    where,
                    "initialize-not-start",
                    f"{aid!r} ({atype.name}) must start the runbook, but links lead into it",
                )
        if not cyclic:
            self.a.order = self._topological(ids)

    def _cycle(self, members: set[str]) -> tuple[list[str], int]:
        """A shortest cycle through the first member (document order) and its first link."""
        start = min(members, key=self.a.first.__getitem__)
        parent: dict[str, tuple[str, int]] = {}
        queue = deque([start])
        seen = {start}
        while queue:
            v = queue.popleft()
            for w, li in self.succ[v]:
                if w == start:
                    nodes, links = [v], [li]
                    while nodes[-1] != start:
                        p, pl = parent[nodes[-1]]
                        nodes.append(p)
                        links.append(pl)
                    nodes.reverse()
                    links.reverse()
                    return [*nodes, start], links[0]
                if w in members and w not in seen:
                    seen.add(w)
                    parent[w] = (v, li)
                    queue.append(w)
        raise AssertionError("a strongly connected component has a cycle through each member")

    def _ancestors(self, aid: str) -> frozenset[str]:
        seen: set[str] = set()
        stack = [p for p, _ in self.pred[aid]]
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                stack.extend(p for p, _ in self.pred[v])
        return frozenset(seen)

    def _topological(self, ids: list[str]) -> tuple[str, ...]:
        """Kahn's order, ties broken by document order."""
        indegree = {aid: len(self.pred[aid]) for aid in ids}
        ready = [(self.a.first[aid], aid) for aid in ids if not indegree[aid]]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, v = heapq.heappop(ready)
            order.append(v)
            for w, _ in self.succ[v]:
                indegree[w] -= 1
                if not indegree[w]:
                    heapq.heappush(ready, (self.a.first[w], w))
        return tuple(order)

    # ---- rules of the core activities --------------------------------------------------------

    def check_core_rules(self) -> None:
        for aid, i in self.a.first.items():
            atype = self.a.types.get(aid)
            if atype is None:
                continue
            props = self.rb.activities[i].properties
            base = f"$.activities[{i}].properties"
            if atype.qualified_name == INITIALIZE_DATA:
                params = self.check_parameters(base, props.get("parameters"))
                if aid == self.a.start:
                    self.a.parameters = params
            elif atype.qualified_name == RETURN_DATA:
                self.check_return_data(base, props.get("data"))
            if atype.role == "junction":
                self.check_junction(aid, base, props.get("return_data_from"))

    def check_parameters(self, base: str, raw: Any) -> tuple[Parameter, ...]:
        if not isinstance(raw, list):
            return ()
        params: list[tuple[str, Parameter]] = []
        for j, item in enumerate(raw):
            try:
                params.append((f"{base}.parameters[{j}]", msgspec.convert(item, Parameter)))
            except msgspec.ValidationError:
                continue  # the Inputs check reported its shape
        self.check_names(
            [(f"{path}.name", p.name) for path, p in params],
            kind="parameter name",
            bad="bad-parameter",
            duplicate="duplicate-parameter",
        )
        for path, p in params:
            if p.default is not None:
                try:
                    canonical(p.default, p.type)
                except ValueError as e:
                    self.fault(
                        f"{path}.default",
                        "bad-default",
                        f"the default is not a valid {p.type}: {e}",
                    )
        return tuple(p for _, p in params)

    def check_names(
        self, names: list[tuple[str, str]], *, kind: str, bad: str, duplicate: str
    ) -> None:
        """Each (path, name) must be an identifier (it is referenced) and unique."""
        seen: set[str] = set()
        for path, name in names:
            if not IDENTIFIER.fullmatch(name):
                self.fault(path, bad, _not_a_name(name, kind))
            elif name in seen:
                self.fault(path, duplicate, f"{name!r} is declared twice")
            seen.add(name)

    def check_return_data(self, base: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        declared = [r.name for r in self.rb.returns]
        for key in data:
            if key not in declared:
                hint = (
                    f"declared: {', '.join(declared)}"
                    if declared
                    else "the runbook declares no returns"
                )
                self.fault(
                    child_path(f"{base}.data", key),
                    "undeclared-return",
                    f"{key!r} is not declared in the runbook's returns ({hint})",
                )

    def check_junction(self, aid: str, base: str, source: Any) -> None:
        if not isinstance(source, str):
            return
        linked = sorted({p for p, _ in self.pred.get(aid, [])})
        if source in linked:
            self.a.junction_sources[aid] = source
            return
        hint = f"linked into it: {', '.join(linked)}" if linked else "nothing is linked into it"
        self.fault(
            f"{base}.return_data_from",
            "not-linked",
            f"{source!r} is not an activity linked into junction {aid!r} ({hint})",
        )

    # ---- references and fields ---------------------------------------------------------------

    def fields_of(self, aid: str) -> frozenset[str] | None:
        """Fields ``aid`` publishes (common ones included), or None when unknowable."""
        if aid in self._fields:
            return self._fields[aid]
        self._fields[aid] = None  # guards junction chains that loop back
        atype = self.a.types.get(aid)
        result: frozenset[str] | None = None
        if atype is not None and atype.role == "junction":
            source = self.a.junction_sources.get(aid)
            inner = self.fields_of(source) if source is not None else frozenset()
            result = None if inner is None else inner | COMMON_FIELDS
        elif atype is not None:
            try:
                own = atype.fields(self.rb.activities[self.a.first[aid]].properties)
            except Exception:  # a pack's hook must not crash validation
                own = None
            if own is not None and not all(isinstance(f, str) for f in own):
                own = None  # nor names that are not text (a hook reading bad properties)
            result = None if own is None else frozenset(own) | COMMON_FIELDS
        self._fields[aid] = result
        return result

    def _field_fault(self, path: str, aid: str, name: str, prefix: str, suffix: str = "") -> None:
        fields = self.fields_of(aid)
        if fields is None or name in fields:
            return
        atype = self.a.types[aid]
        self.fault(
            path,
            "unknown-field",
            f"{prefix}{aid!r} ({atype.name}) publishes no field {name!r} "
            f"(it publishes: {', '.join(sorted(fields))}){suffix}",
        )

    def check_references(self) -> None:
        """Every ``{id.Field}`` / ``{runbook.Field}`` names something that exists.

        A text of reference shape is a reference (orch/document/README.md
        "Expressions"), so a typo is caught here; each message names the
        position and how to write the text itself instead.
        """
        for aid, tree in self.a.trees.items():
            upstream = self.a.upstream.get(aid, frozenset())
            for template in tree.templates():
                seen: set[tuple[str, str]] = set()
                for act, name, at in template.reference_positions():
                    if (act, name) in seen:
                        continue
                    seen.add((act, name))
                    ref = f"{{{act}.{name}}} at position {at + 1}"
                    literal = f" (for the text itself write {{{{{act}.{name}}})"
                    if act not in self.a.first:
                        self.fault(
                            template.path,
                            "unknown-activity",
                            f"{ref}: no activity {act!r}{literal}",
                        )
                    elif act not in upstream:
                        self.fault(
                            template.path,
                            "not-upstream",
                            f"{ref}: {act!r} is not upstream of {aid!r} "
                            "(no chain of links leads from it to here)",
                        )
                    else:
                        self._field_fault(template.path, act, name, f"{ref}: ", literal)
                for name in sorted(template.runbook_fields - RUNBOOK_FIELDS):
                    self.fault(
                        template.path,
                        "unknown-runbook-field",
                        f"{{runbook.{name}}} is not runbook data "
                        f"(there is {', '.join(sorted(RUNBOOK_FIELDS))}; "
                        f"for the text itself write {{{{runbook.{name}}})",
                    )

    def check_reach(self) -> None:
        """References past a junction mean one value, or are flattened (see reach.py)."""
        if not self.a.order:
            return  # a cycle: no order, already a fault
        acts = self.rb.activities
        graph = Graph(
            order=self.a.order,
            pred=self.pred,
            types=self.a.types,
            properties={aid: acts[i].properties for aid, i in self.a.first.items()},
            flattens=frozenset(
                aid for aid, i in self.a.first.items() if acts[i].flatten is not None
            ),
            junction_sources=self.a.junction_sources,
            upstream=self.a.upstream,
        )
        reach = analyze_reach(graph, self.a.trees)
        self.a.faults.extend(reach.faults)
        self.a.past = reach.past

    def check_condition_fields(self) -> None:
        for i, link in enumerate(self.rb.links):
            if link.from_ not in self.a.first:
                continue
            for kind, conditions in (("include", link.include or []), ("exclude", link.exclude)):
                for j, c in enumerate(conditions):
                    self._field_fault(f"$.links[{i}].{kind}[{j}].data", link.from_, c.data, "")
        for aid, i in self.a.first.items():
            loop = self.rb.activities[i].loop
            for j, c in enumerate(loop.until if loop else []):
                self._field_fault(f"$.activities[{i}].loop.until[{j}].data", aid, c.data, "")


def _components(ids: list[str], succ: Mapping[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: deep graphs need no recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in ids:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ[root]))]
        while work:
            v, it = work[-1]
            for w, _ in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    component: list[str] = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    out.append(component)
    return out


def _conversion_error(value: Any, tp: Any) -> str | None:
    """msgspec's message when a literal value cannot become ``tp``, else None
    (the same lenient conversion the runtime applies to rendered properties)."""
    try:
        convert_lenient(value, tp)
        return None
    except msgspec.ValidationError as e:
        return str(e)
    except TypeError:  # a type msgspec cannot convert to: the runtime decides
        return None
