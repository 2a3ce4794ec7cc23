"""The ``orch.runbook/1`` JSON Schema, for editors that validate as the author types.

VS Code (and any JSON Schema 2020-12 tool) reads it from a document's
``"$schema"`` or a settings mapping. It is the document model's own schema
(msgspec generates it from the Structs, so it cannot drift) plus, for every
activity type given, an ``if type is … then properties must fit`` rule built
from the type's registered input schema.

The rule is as lenient as check-in is: a property's value may be an
expression, so wherever the input schema asks for a number, a boolean or one
of an enum's values, text is accepted too (check-in converts literal text the
same way and checks what it can; the editor must not flag ``"{start.Count}"``
for an integer). Property names, required properties and the shape of lists
and objects are checked as registered. A document may name the schema in a
top-level ``"$schema"``, which check-in ignores.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from orch.document.model import FORMAT, SCHEMA_KEY, Runbook

__all__ = ["TypeSchema", "runbook_schema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_DEF_REF = re.compile(r"^#/\$defs/(.+)$")
_SAFE = re.compile(r"[^A-Za-z0-9_]")
_TEXT = {"type": "string"}


class TypeSchema(msgspec.Struct, kw_only=True, frozen=True):
    """What the schema needs of one activity type."""

    qualified_name: str
    """``pack:name``."""
    name: str
    """The plain name a document may use when it is unique (``core`` wins a clash)."""
    plain_ok: bool = True
    """Whether the plain name selects this type (False when another pack's type holds it)."""
    display_name: str = ""
    description: str = ""
    input_schema: Mapping[str, Any]


def _relax(node: Any, rename: Mapping[str, str]) -> Any:
    """A copy of a schema node where text is accepted in place of any non-text scalar."""
    if isinstance(node, list):
        return [_relax(n, rename) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _relax(v, rename) for k, v in node.items() if k not in ("$schema", "$defs", "title")}
    ref = node.get("$ref")
    if isinstance(ref, str):
        m = _DEF_REF.match(ref)
        if m is not None and m.group(1) in rename:
            out["$ref"] = f"#/$defs/{rename[m.group(1)]}"
    if "enum" in out or "const" in out:
        return {"anyOf": [out, _TEXT]}
    kind = out.get("type")
    if isinstance(kind, str) and kind in ("integer", "number", "boolean"):
        out["type"] = [kind, "string"]
    elif isinstance(kind, list) and any(k in ("integer", "number", "boolean") for k in kind):
        out["type"] = sorted({*kind, "string"})
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        out.pop(bound, None)  # they would refuse nothing that is text, and mislead
    return out


def _type_rule(t: TypeSchema, defs: dict[str, Any]) -> dict[str, Any]:
    prefix = "type_" + _SAFE.sub("_", t.qualified_name) + "_"
    own_defs = t.input_schema.get("$defs", {}) or {}
    rename = {name: prefix + _SAFE.sub("_", name) for name in own_defs}
    for name, sub in own_defs.items():
        defs[rename[name]] = _relax(sub, rename)
    names = [t.qualified_name, *([t.name] if t.plain_ok else [])]
    props = _relax(dict(t.input_schema), rename)
    if t.description:
        props["description"] = f"{t.display_name or t.name}: {t.description}"
    return {
        "if": {"properties": {"type": {"enum": names}}, "required": ["type"]},
        "then": {"properties": {"properties": props}},
    }


def runbook_schema(
    types: Iterable[TypeSchema] = (), *, schema_id: str | None = None
) -> dict[str, Any]:
    """The JSON Schema of an ``orch.runbook/1`` document, with per-type property rules."""
    generated = msgspec.json.schema(Runbook)
    defs: dict[str, Any] = copy.deepcopy(generated["$defs"])
    root = defs.pop("Runbook")
    root["properties"] = {SCHEMA_KEY: {"type": "string", "description":
                                       "Where editors find this schema (ignored by orch)."},
                          **root["properties"]}  # fmt: skip
    root["properties"]["format"] = {"const": FORMAT}
    activity = defs["Activity"]
    chosen = sorted(types, key=lambda t: t.qualified_name)
    suggestions = sorted({n for t in chosen for n in (t.qualified_name,
                                                     *([t.name] if t.plain_ok else []))})
    activity["properties"]["type"] = {
        "type": "string",
        "description": "A registered activity type: `name`, or `pack:name`.",
        **({"examples": suggestions} if suggestions else {}),
    }
    rules = [_type_rule(t, defs) for t in chosen]
    if rules:
        activity["allOf"] = rules
    out: dict[str, Any] = {"$schema": DRAFT}
    if schema_id:
        out["$id"] = schema_id
    out.update(root)
    out["title"] = f"{FORMAT} runbook document"
    out["$defs"] = defs
    return out
