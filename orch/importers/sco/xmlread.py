"""Reading a Runbook Designer export (``.ois_export``) into a small model.

The export is untrusted XML: it is parsed by defusedxml with DTDs forbidden
(so no entity, external or internal, can be declared: no XML bomb, no
external entity), after a size check, and its nesting depth is checked
before anything walks it. Format facts (checked against public exports and
their documentation):

- root ``<ExportData>``; ``<Policies>`` holds a ``<Folder>`` tree whose
  outermost folder stands for the import destination;
- a ``<Policy>`` is a runbook: ``UniqueID``, ``Name``, ``Description`` and
  runbook fields (``MaxParallelRequests``, ``PolicyTimeout``,
  ``LogSpecificData``, ``LogCommonData``, ``NotifyOnFail``,
  ``ReturnDataDefinition``…), then its ``<Object>``s;
- an ``<Object>`` is an activity or a link (``ObjectTypeName`` ``Link``,
  ``ObjectType`` ``{7A65BD17-9532-4D07-A6DA-E0F89FA0203E}``); every field
  is a direct child element with a ``datatype`` attribute (``string``,
  ``int``, ``bool``, ``date``, ``null``); lists are child elements holding
  ``<Entry>`` elements (``CUSTOM_START_PARAMETERS``, ``TRIGGERS``,
  ``TRIGGER_POLICY_PARAMETERS``, ``PUBLISH_POLICY_DATA``);
- ``<GlobalSettings>`` holds ``Variables``, ``Counters`` and ``Schedules``
  as folder trees of objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeET

from orch.errors import DocumentError

__all__ = [
    "LINK_TYPE",
    "MAX_DEPTH",
    "MAX_EXPORT_BYTES",
    "Export",
    "ExportError",
    "GlobalObject",
    "SCOObject",
    "SCOPolicy",
    "parse_export",
]

LINK_TYPE = "{7A65BD17-9532-4D07-A6DA-E0F89FA0203E}"
MAX_EXPORT_BYTES = 4 * 1024 * 1024
"""The gateway's body limit: an export must fit in one request."""
MAX_DEPTH = 64
"""Folders nest, but nothing in an export is this deep; deeper is refused."""


class ExportError(DocumentError):
    """The file is not a usable SCO export (the message says what and where)."""

    def __init__(self, message: str, *, path: str = "$", code: str = "bad-export") -> None:
        super().__init__(message, path=path)
        self.code = code


@dataclass(slots=True)
class SCOObject:
    """An activity or a link: its fields as text, its lists as entries of fields."""

    fields: dict[str, str]
    datatypes: dict[str, str]
    lists: dict[str, list[dict[str, str]]]
    where: str
    """Where it is, for messages: ``Policy 'Name' / Object 3``."""

    def get(self, *names: str, default: str = "") -> str:
        """The first of ``names`` present with a value (``datatype="null"`` is absent)."""
        for name in names:
            if name in self.fields and self.datatypes.get(name) != "null":
                return self.fields[name]
        return default

    def has(self, name: str) -> bool:
        return name in self.fields and self.datatypes.get(name) != "null"

    def flag(self, *names: str, default: bool = False) -> bool:
        text = self.get(*names).strip().lower()
        if not text:
            return default
        return text in ("true", "1", "yes")

    @property
    def unique_id(self) -> str:
        return self.get("UniqueID").strip().upper()

    @property
    def name(self) -> str:
        return self.get("Name").strip()

    @property
    def type_name(self) -> str:
        return self.get("ObjectTypeName").strip()

    @property
    def is_link(self) -> bool:
        return self.type_name == "Link" or self.get("ObjectType").strip().upper() == LINK_TYPE


@dataclass(slots=True)
class SCOPolicy:
    unique_id: str
    name: str
    folders: tuple[str, ...]
    """The author's folders below the export's outermost one."""
    fields: dict[str, str]
    objects: list[SCOObject]
    index: int
    """Position among the export's policies (document order)."""


@dataclass(slots=True)
class GlobalObject:
    kind: str
    """``Variable``, ``Counter`` or ``Schedule`` (the ``ObjectTypeName``)."""
    unique_id: str
    name: str
    folders: tuple[str, ...]
    object: SCOObject


@dataclass(slots=True)
class Export:
    policies: list[SCOPolicy]
    variables: list[GlobalObject] = field(default_factory=list)
    counters: list[GlobalObject] = field(default_factory=list)
    schedules: list[GlobalObject] = field(default_factory=list)


def _depth(root: Element) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        el, d = stack.pop()
        if d > MAX_DEPTH:
            return d
        deepest = max(deepest, d)
        stack.extend((child, d + 1) for child in el)
    return deepest


def _parse_xml(data: bytes) -> Element:
    if len(data) > MAX_EXPORT_BYTES:
        raise ExportError(
            f"the export is {len(data)} bytes; at most {MAX_EXPORT_BYTES} are accepted "
            "(export fewer runbooks at a time)", code="too-large")
    if not data.strip():
        raise ExportError("the export is empty", code="not-xml")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DTDForbidden:
        raise ExportError("the export declares a DTD; SCO exports have none and none is "
                          "accepted (no entities, no external references)",
                          code="forbidden-xml") from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden,
            defusedxml.NotSupportedError):
        raise ExportError("the export declares entities or external references; none is "
                          "accepted", code="forbidden-xml") from None
    except SafeET.ParseError as e:
        line, column = getattr(e, "position", (0, 0))
        raise ExportError(f"not XML: {e.msg if hasattr(e, 'msg') else e} "
                          f"(line {line}, column {column + 1})", code="not-xml") from None
    if _depth(root) > MAX_DEPTH:
        raise ExportError(f"the export nests elements more than {MAX_DEPTH} deep",
                          code="too-deep")
    return root


def _read_object(el: Element, where: str) -> SCOObject:
    fields: dict[str, str] = {}
    datatypes: dict[str, str] = {}
    lists: dict[str, list[dict[str, str]]] = {}
    for child in el:
        entries = [c for c in child if c.tag == "Entry"]
        if entries:
            lists[child.tag] = [
                {f.tag: (f.text or "") for f in entry if f.get("datatype") != "null"}
                for entry in entries
            ]
            continue
        if len(child):
            continue  # a nested element that is neither a field nor a list
        fields.setdefault(child.tag, child.text or "")
        datatypes.setdefault(child.tag, child.get("datatype", "string"))
    return SCOObject(fields=fields, datatypes=datatypes, lists=lists, where=where)


def _text(el: Element, tag: str) -> str:
    child = el.find(tag)
    if child is None or child.get("datatype") == "null":
        return ""
    return (child.text or "").strip()


def _walk_folders(
    folder: Element, out: list[tuple[Element, tuple[str, ...]]], tag: str
) -> None:
    """Every ``tag`` element under ``folder`` in document order, with the folder names
    below ``folder`` (which stands for the destination)."""
    stack: list[tuple[Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(list(folder))
    ]
    while stack:
        el, names = stack.pop()
        if el.tag == tag:
            out.append((el, names))
        elif el.tag in ("Folder", "Objects"):  # some writers group a folder's objects
            name = _text(el, "Name") if el.tag == "Folder" else ""
            inner = (*names, name) if name else names
            stack.extend((child, inner) for child in reversed(list(el)))


def parse_export(data: bytes) -> Export:
    """The export's policies and global settings; ExportError when it is not one."""
    root = _parse_xml(data)
    if root.tag != "ExportData":
        raise ExportError(f"not an SCO export: the root element is <{root.tag}>, not "
                          "<ExportData>", code="not-an-export")
    return _read(root)


def _read(root: Element) -> Export:
    policies_el = root.find("Policies")
    found: list[tuple[Element, tuple[str, ...]]] = []
    if policies_el is not None:
        for top in policies_el:
            if top.tag == "Folder":  # the outermost folder stands for the destination
                _walk_folders(top, found, "Policy")
            elif top.tag == "Policy":
                found.append((top, ()))
    policies: list[SCOPolicy] = []
    for index, (el, folders) in enumerate(found):
        name = _text(el, "Name")
        where = f"policy {index + 1}"
        if not name:
            raise ExportError(f"{where} of the export (UniqueID "
                              f"{_text(el, 'UniqueID') or 'none'}) has no name",
                              path=f"Policies/Policy[{index + 1}]/Name", code="unnamed-policy")
        fields = {c.tag: (c.text or "") for c in el if c.tag != "Object" and not len(c)
                  and c.get("datatype") != "null"}
        objects = [_read_object(o, f"runbook {name!r}, object {i + 1}")
                   for i, o in enumerate(el.findall("Object"))]
        policies.append(SCOPolicy(unique_id=_text(el, "UniqueID").upper(), name=name,
                                  folders=folders, fields=fields, objects=objects,
                                  index=index))  # fmt: skip
    export = Export(policies=policies)
    settings = root.find("GlobalSettings")
    if policies_el is None and settings is None:
        raise ExportError("not an SCO export: <ExportData> has neither <Policies> nor "
                          "<GlobalSettings>", code="not-an-export")
    if settings is not None:
        for section, kind, bucket in (("Variables", "Variable", export.variables),
                                      ("Counters", "Counter", export.counters),
                                      ("Schedules", "Schedule", export.schedules)):
            el = settings.find(section)
            if el is None:
                continue
            objects: list[tuple[Element, tuple[str, ...]]] = []
            for top in el:
                if top.tag == "Folder":
                    _walk_folders(top, objects, "Object")
                elif top.tag == "Object":
                    objects.append((top, ()))
            for i, (o, folders) in enumerate(objects):
                obj = _read_object(o, f"{kind.lower()} {i + 1}")
                if obj.type_name and obj.type_name != kind:
                    continue
                if not obj.name:
                    raise ExportError(f"{kind.lower()} {i + 1} of the export has no name",
                                      path=f"GlobalSettings/{section}", code="unnamed-object")
                bucket.append(GlobalObject(kind=kind, unique_id=obj.unique_id, name=obj.name,
                                           folders=folders, object=obj))
    return export
