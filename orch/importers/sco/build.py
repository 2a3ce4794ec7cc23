"""An SCO export → ``orch.runbook/1`` documents, variables, counters and warnings.

Pure: no database. The caller passes where previously imported runbooks are
(``known``: SCO UniqueID → orch path) so a Trigger Policy can start a child
imported earlier. Activity ids are slugs of the SCO names, unique in the
runbook and stable across re-imports of the same export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orch.document.model import join_path, normalize_folder
from orch.importers.sco.links import translate_link
from orch.importers.sco.mapping import MAPPERS, Mapped, escaped_items, placeholder
from orch.importers.sco.refs import field_key, name_slug, slug, translate, unique
from orch.importers.sco.xmlread import Export, ExportError, SCOObject, SCOPolicy

__all__ = ["Built", "BuiltRunbook", "VariableSpec", "build"]

COMMON_FIELDS = {field_key(k): v for k, v in {
    "Status": "Status", "Activity status": "Status", "ActivityStatus": "Status",
    "Activity name": "ActivityName", "ActivityName": "ActivityName",
    "Activity start time": "StartTime", "StartTime": "StartTime",
    "Activity end time": "EndTime", "EndTime": "EndTime",
    "Error summary text": "ErrorSummary", "ErrorSummary": "ErrorSummary",
}.items()}  # fmt: skip
"""Published data every SCO activity has, by its loose name."""

RESERVED = ("runbook", "variable")


@dataclass(slots=True)
class BuiltActivity:
    name: str
    sco_type: str
    id: str
    type: str
    placeholder: bool
    enabled: bool


@dataclass(slots=True)
class BuiltRunbook:
    policy: SCOPolicy
    path: str
    document: dict[str, Any]
    activities: list[BuiltActivity]
    warnings: list[str]
    blocked: bool
    """A warning says it may not do what it did in SCO."""

    @property
    def enabled(self) -> bool:
        """Ready to run as imported: no placeholder, no blocking warning."""
        return not self.blocked and not any(a.placeholder for a in self.activities)


@dataclass(slots=True)
class VariableSpec:
    name: str
    sco_name: str
    value: str
    encrypted: bool


@dataclass(slots=True)
class Built:
    runbooks: list[BuiltRunbook]
    variables: list[VariableSpec]
    counters: list[tuple[str, int]]
    schedules: list[str]
    warnings: list[str] = field(default_factory=list)


_ENCRYPTED = re.compile(r"\\?`d\.T\.~(Ec|De)/")


def _variable_name(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name).strip("_")
    if not text or not (text[0].isalpha() or text[0] == "_"):
        text = f"_{text}"
    return text


def _segment(name: str, what: str, warnings: list[str]) -> str:
    """A folder or runbook name usable as a path segment (no '/', not '.' or '..')."""
    clean = name.replace("/", "-").strip()
    if clean in (".", ".."):
        clean = clean.replace(".", "_")
    if clean != name.strip():
        warnings.append(f"{what} {name!r} is named {clean!r} in orch ('/' separates folders; "
                        "'.' and '..' are not names)")
    return clean


def build(export: Export, folder: str, known: Mapping[str, str] | None = None) -> Built:
    """Translate ``export`` for the destination ``folder``."""
    folder = normalize_folder(folder)
    warnings: list[str] = []
    variables: list[VariableSpec] = []
    var_names: dict[str, str] = {}
    taken: set[str] = set()
    for g in export.variables:
        name = unique(_variable_name(g.name), taken)
        if name != g.name:
            warnings.append(f"variable {g.name!r} is named {name} in orch (variable names are "
                            "letters, digits, _, . and -)")  # fmt: skip
        raw = g.object.get("Value")
        encrypted = bool(_ENCRYPTED.search(raw))
        variables.append(VariableSpec(name=name, sco_name=g.name, encrypted=encrypted,
                                      value="" if encrypted else raw))  # fmt: skip
        if g.unique_id:
            var_names[g.unique_id] = name
    counters = []
    for g in export.counters:
        default = g.object.get("DefaultValue", "Default", "Value").strip()
        try:
            counters.append((g.name, int(default or 0)))
        except ValueError:
            warnings.append(f"counter {g.name!r}: default {default!r} is not a whole number; 0")
            counters.append((g.name, 0))
    schedules = [g.name for g in export.schedules]

    paths: dict[str, str] = dict(known or {})
    seen_paths: dict[str, str] = {}
    policy_paths: list[str] = []
    for p in export.policies:
        parts = [_segment(f, "folder", warnings) for f in p.folders if f.strip()]
        path = join_path("/".join((folder.rstrip("/"), *parts)) or "/",
                         _segment(p.name, "runbook", warnings))
        if path in seen_paths:
            raise ExportError(f"two runbooks of the export would both be {path} "
                              f"({p.unique_id} and {seen_paths[path]})", code="duplicate-path")
        seen_paths[path] = p.unique_id
        policy_paths.append(path)
        if p.unique_id:
            paths[p.unique_id] = path
    encrypted_names = {v.name for v in variables if v.encrypted}
    runbooks = [
        _Runbook(p, path, paths, var_names, encrypted_names).build()
        for p, path in zip(export.policies, policy_paths, strict=True)
    ]
    return Built(runbooks=runbooks, variables=variables, counters=counters,
                 schedules=schedules, warnings=warnings)


class _Source:
    """What a mapper sees of one activity (mapping.Source)."""

    def __init__(self, rb: _Runbook, obj: SCOObject, activity_id: str, *, live: bool) -> None:
        self.rb = rb
        self.obj = obj
        self.activity_id_ = activity_id
        self.live = live

    def warn(self, message: str, *, blocking: bool = True) -> None:
        if self.live:
            self.rb.warn(f"activity {self.obj.name!r}: {message}", blocking=blocking)

    def text(self, raw: str) -> str:
        if not self.live:
            return raw
        return translate(raw, self.resolve, self.warn)

    def activity_id(self, guid: str) -> str | None:
        return self.rb.ids.get(guid)

    def child_path(self, guid: str, sco_path: str) -> str | None:
        return self.rb.paths.get(guid)

    def resolve(self, kind: str, guid: str, sco_field: str) -> str | None:
        rb = self.rb
        if kind == "Vb":
            name = rb.variables.get(guid)
            if name is None:
                self.warn(f"it reads the variable {guid}, which is not in the export; kept as "
                          "text: import the variable too or write {variable:Name}")
                return None
            if name in rb.encrypted:
                rb.needs_values.add(name)
            return f"{{variable:{name}}}"
        target = rb.ids.get(guid)
        if target is None:
            self.warn(f"it reads published data {sco_field!r} of {guid}, which is not an "
                      "activity of this runbook; kept as text")  # fmt: skip
            return None
        if target not in rb.upstream[self.activity_id_]:
            self.warn(f"it reads {sco_field!r} of {rb.names[target]!r}, which is not linked "
                      "before it (orch reads only activities upstream on its path); kept as "
                      "text: link it, or pass the value along")  # fmt: skip
            return None
        out = rb.field_of(target, sco_field)
        if out is None:
            self.warn(f"it reads {sco_field!r} of {rb.names[target]!r}, which has no such "
                      f"field in orch ({rb.mapped[target].type}); kept as text")
            return None
        return f"{{{target}.{out}}}"


class _Runbook:
    def __init__(self, policy: SCOPolicy, path: str, paths: Mapping[str, str],
                 variables: Mapping[str, str], encrypted: set[str]) -> None:  # fmt: skip
        self.policy = policy
        self.path = path
        self.paths = paths
        self.variables = variables
        self.encrypted = encrypted
        self.needs_values: set[str] = set()
        self.warnings: list[str] = []
        self.blocking = False
        self.activities = [o for o in policy.objects if not o.is_link]
        self.links = [o for o in policy.objects if o.is_link]
        self.ids: dict[str, str] = {}
        self.names: dict[str, str] = {}
        taken: set[str] = set()
        for i, obj in enumerate(self.activities):
            aid = unique(slug(obj.name or obj.type_name or f"activity {i + 1}"), taken, RESERVED)
            if obj.unique_id:
                self.ids[obj.unique_id] = aid
            self.names[aid] = obj.name or aid
        self.mapped: dict[str, Mapped] = {}
        self.upstream: dict[str, set[str]] = {aid: set() for aid in self.names}

    def warn(self, message: str, *, blocking: bool = True) -> None:
        """A warning in the report; a blocking one (the runbook may not do what it did in
        SCO) makes the runbook import disabled."""
        self.warnings.append(message)
        self.blocking = self.blocking or blocking

    def field_of(self, target: str, sco_field: str) -> str | None:
        mapped = self.mapped[target]
        guid = sco_field.strip().upper()
        if guid in mapped.parameters:
            return mapped.parameters[guid]
        key = field_key(sco_field)
        if key in COMMON_FIELDS:
            return COMMON_FIELDS[key]
        if mapped.fields is None:
            return name_slug(sco_field)
        return mapped.fields.get(key)

    def _edges(self) -> list[tuple[SCOObject, str, str]]:
        edges = []
        for link in self.links:
            src = self.ids.get(link.get("SourceObject").strip().upper())
            dst = self.ids.get(link.get("TargetObject").strip().upper())
            if src is None or dst is None:
                self.warn(f"a link from {link.get('SourceObject') or '?'} to "
                          f"{link.get('TargetObject') or '?'} has an end that is not an "
                          "activity of this runbook; it was left out")  # fmt: skip
                continue
            edges.append((link, src, dst))
        return edges

    def _ancestors(self, edges: list[tuple[SCOObject, str, str]]) -> None:
        preds: dict[str, set[str]] = {aid: set() for aid in self.names}
        for _, src, dst in edges:
            preds[dst].add(src)
        for aid in self.names:
            seen: set[str] = set()
            stack = list(preds[aid])
            while stack:
                a = stack.pop()
                if a not in seen:
                    seen.add(a)
                    stack.extend(preds[a])
            self.upstream[aid] = seen

    def _map(self, obj: SCOObject, aid: str, *, live: bool) -> Mapped:
        src = _Source(self, obj, aid, live=live)
        mapper = MAPPERS.get(obj.type_name)
        if mapper is None:
            return placeholder(src, obj.type_name or "unknown type",
                               "orch has no such activity (an integration pack or object type "
                               "it does not have); replace it")  # fmt: skip
        return mapper(src)

    def build(self) -> BuiltRunbook:
        edges = self._edges()
        self._ancestors(edges)
        order = list(self.names)
        for obj, aid in zip(self.activities, order, strict=True):  # fields first
            self.mapped[aid] = self._map(obj, aid, live=False)
        activities: list[dict[str, Any]] = []
        built: list[BuiltActivity] = []
        for obj, aid in zip(self.activities, order, strict=True):
            mapped = self._map(obj, aid, live=True)
            activities.append(self._activity(obj, aid, mapped))
            built.append(BuiltActivity(name=obj.name, sco_type=obj.type_name, id=aid,
                                       type=mapped.type, placeholder=mapped.placeholder,
                                       enabled=activities[-1].get("enabled", True)))
        preds = {dst: {src for _, src, d in edges if d == dst} for _, _, dst in edges}
        for doc in activities:
            source = doc["properties"].get("return_data_from")
            linked = preds.get(doc["id"], set())
            if doc["type"] == "junction" and source is not None and source not in linked:
                self.warn(f"activity {self.names[doc['id']]!r}: it returns the data of "
                          f"{self.names[source]!r}, which is not linked into it; it now "
                          "returns none (link it, or pick a branch linked into it)")
                del doc["properties"]["return_data_from"]
        starts = [aid for aid in order if not self.upstream[aid]]
        for doc in activities:
            if doc["id"] in starts and doc.get("enabled") is False:
                self.warn(f"activity {self.names[doc['id']]!r} starts the runbook and was "
                          "disabled: the runbook is imported disabled instead")
                del doc["enabled"]
        links = [translate_link(link, src, dst, self) for link, src, dst in edges]
        for name in sorted(self.needs_values):
            self.warn(f"it reads the encrypted variable {name}, which has no value yet: set it "
                      f"(PUT /api/v1/variables/{name} with encrypted: true)")
        document = self._document(activities, links)
        return BuiltRunbook(policy=self.policy, path=self.path, document=document,
                            activities=built, warnings=self.warnings, blocked=self.blocking)

    def _activity(self, obj: SCOObject, aid: str, mapped: Mapped) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": aid, "type": mapped.type, "properties": mapped.properties}
        if obj.name and obj.name != aid:
            doc["name"] = obj.name
        description = obj.get("Description").strip()
        if description:
            doc["description"] = description
        if obj.has("Enabled") and not obj.flag("Enabled"):
            doc["enabled"] = False
        try:
            x, y = float(obj.get("PositionX")), float(obj.get("PositionY"))
            doc["position"] = {"x": x, "y": y}
        except ValueError:
            pass
        if obj.flag("Flatten"):
            if obj.flag("FlatUseLineBreak"):
                separator = "\n"
            elif obj.flag("FlatUseCSV"):
                separator = ","
            else:
                separator = obj.get("FlatCustomSep", default=",")
            doc["flatten"] = {"separator": separator}
        timeout = obj.get("ASW_ObjectTimeout").strip()
        if timeout.isdigit() and int(timeout) > 0:
            doc["timeout_seconds"] = int(timeout)
        run_as = obj.get("ASC_Username").strip()
        if run_as and not obj.flag("ASC_UseServiceSecurity", default=True):
            self.warn(f"activity {obj.name!r} ran as {run_as!r} in SCO (its password is "
                      "encrypted in the export): here it runs as the runbook server's user; "
                      "give it credentials from an encrypted variable where it needs them")
        return doc

    def _document(self, activities: list[dict[str, Any]],
                  links: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
        p = self.policy
        folder, _, name = self.path.rpartition("/")
        returns: list[str] = []
        for item in escaped_items(p.fields.get("ReturnDataDefinition", "")):
            n = item.get("Name") or item.get("Key")
            if n:
                returns.append(name_slug(n))
        for mapped in self.mapped.values():
            returns.extend(mapped.returns)
        doc: dict[str, Any] = {
            "format": "orch.runbook/1",
            "name": name,
            "folder": folder or "/",
            "description": p.fields.get("Description", "").strip(),
            "returns": [{"name": r} for r in dict.fromkeys(returns)],
            "activities": activities,
            "links": links,
            "metadata": {"sco.unique_id": p.unique_id,
                         "sco.path": "\\".join((*p.folders, p.name))},
        }
        parallel = p.fields.get("MaxParallelRequests", "").strip()
        if parallel.isdigit():
            doc["max_concurrent_jobs"] = int(parallel)
        timeout = p.fields.get("PolicyTimeout", "").strip()
        if timeout.isdigit() and int(timeout) > 0:
            doc["job_timeout_seconds"] = int(timeout)
        logging = {}
        for sco, key in (("LogSpecificData", "store_published_data"),
                         ("LogCommonData", "store_common_data")):
            if sco in p.fields:
                logging[key] = p.fields[sco].strip().lower() == "true"
        if logging:
            doc["logging"] = logging
        if p.fields.get("NotifyOnFail", "").strip().lower() == "true":
            doc["notifications"] = {"on_failure_to_run": True}
        return doc
