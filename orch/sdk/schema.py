"""JSON Schemas of an activity's inputs and published data, with field descriptions.

msgspec generates the schema from the Structs; this module adds what msgspec
cannot see: attribute docstrings (``name: str`` followed by ``\"\"\"text\"\"\"``),
the style of the standard activities. The convention for pack authors:

- describe a field with a docstring right below it, or with
  ``Annotated[T, msgspec.Meta(description="...")]``; a ``Meta`` description
  wins over a docstring;
- a :data:`~orch.sdk.Secret` field keeps its docstring and is marked secret.

The schemas are what ``orch ip install`` registers in the database and what
``docs/activities.md`` is generated from. Published data is text at run time,
so every published field is ``{"type": "string"}`` with its declared type kept
as ``x-orch-type``.
"""

from __future__ import annotations

import ast
import functools
import inspect
import operator
import textwrap
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import msgspec

from orch.sdk.declare import COMMON_FIELDS, ActivityType, Secret

__all__ = [
    "field_docs",
    "input_schema",
    "is_registered_only",
    "output_schema",
    "standin_type",
    "type_record",
]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_REF = "#/$defs/{name}"
_SECRET_TEXT: str = Secret.__metadata__[0].description  # type: ignore[attr-defined]


@lru_cache(maxsize=512)
def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of a class and its bases (nearest class wins)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, msgspec.Struct):
            continue
        docs.update(_own_docs(klass))
    return docs


def _own_docs(klass: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):
        return {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.ClassDef):
        return {}
    out: dict[str, str] = {}
    body = node.body
    for stmt, nxt in zip(body, [*body[1:], None], strict=True):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            out[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return out


def _describe(struct: type, props: dict[str, Any]) -> None:
    """Fill each property's description from the struct's field docstrings."""
    docs = field_docs(struct)
    names = {f.encode_name: f.name for f in msgspec.structs.fields(struct)}
    for key, prop in props.items():
        doc = docs.get(names.get(key, key))
        current = prop.get("description")
        if current == _SECRET_TEXT:
            prop["description"] = f"{doc} ({current})" if doc else current
        elif not current and doc:
            prop["description"] = doc


def _struct_schema(struct: type) -> dict[str, Any]:
    (ref,), defs = msgspec.json.schema_components([struct], ref_template=_REF)
    name = ref["$ref"].rsplit("/", 1)[1]
    root = dict(defs.pop(name))
    _describe(struct, root.get("properties", {}))
    for sub in _nested_structs(struct):
        entry = defs.get(sub.__name__)
        if entry is not None:
            _describe(sub, entry.get("properties", {}))
    if defs:
        root["$defs"] = defs
    return root


def _nested_structs(struct: type) -> list[type]:
    found: list[type] = []
    seen: set[type] = {struct}

    def walk(t: msgspec.inspect.Type) -> None:
        if isinstance(t, msgspec.inspect.StructType):
            if t.cls not in seen:
                seen.add(t.cls)
                found.append(t.cls)
                for f in t.fields:
                    walk(f.type)
            return
        for attr in ("type", "item_type", "value_type", "key_type"):
            sub = getattr(t, attr, None)
            if isinstance(sub, msgspec.inspect.Type):
                walk(sub)
        for sub in getattr(t, "types", ()) or ():
            walk(sub)

    for f in msgspec.inspect.type_info(struct).fields:  # type: ignore[attr-defined]
        walk(f.type)
    return found


def input_schema(t: ActivityType) -> dict[str, Any]:
    """The JSON Schema of the activity's properties (self-contained)."""
    root = _struct_schema(t.inputs)
    root["title"] = f"{t.qualified_name} properties"
    return {"$schema": _DRAFT, **root}


def output_schema(t: ActivityType) -> dict[str, Any]:
    """The JSON Schema of one published item (its own fields; all text at run time).

    ``x-orch-multi-valued``: one item per value; ``x-orch-dynamic``: the fields
    depend on the properties (``initialize_data``'s parameters and the like).
    """
    out: dict[str, Any] = {
        "$schema": _DRAFT,
        "title": f"{t.qualified_name} published data",
        "type": "object",
        "x-orch-multi-valued": t.multi_valued,
        "x-orch-common-fields": sorted(COMMON_FIELDS),
    }
    if t.published is None:
        out["additionalProperties"] = {"type": "string"}
        out["x-orch-dynamic"] = True
        return out
    declared = _struct_schema(t.published)
    props: dict[str, Any] = {}
    for key, prop in declared.get("properties", {}).items():
        entry: dict[str, Any] = {"type": "string", "x-orch-type": _type_name(prop)}
        if prop.get("description"):
            entry["description"] = prop["description"]
        props[key] = entry
    out["properties"] = props
    out["required"] = sorted(props)
    out["additionalProperties"] = False
    return out


def _type_name(prop: dict[str, Any]) -> str:
    if "type" in prop:
        t = prop["type"]
        fmt = prop.get("format")
        return f"{t}/{fmt}" if fmt else str(t)
    if "anyOf" in prop:
        return " | ".join(_type_name(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[1]
    if "enum" in prop:
        return "enum"
    return "any"


def type_record(t: ActivityType) -> dict[str, Any]:
    """What registering a type stores: metadata plus both schemas."""
    return {
        "name": t.name,
        "display_name": t.display_name,
        "description": t.description,
        "category": t.category,
        "rerunnable": t.rerunnable,
        "monitor": t.monitor,
        "default_timeout": t.default_timeout,
        "input_schema": input_schema(t),
        "output_schema": output_schema(t),
    }


# -- stand-ins: types known only from their registered schemas ---------------------------

_SIMPLE: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                           "null": type(None)}  # fmt: skip
REGISTERED_ONLY = "orch_registered_only"


def is_registered_only(t: ActivityType) -> bool:
    """A stand-in built from a registered schema (the pack is not installed here)."""
    return bool(getattr(t.fn, REGISTERED_ONLY, False))


def _py_type(prop: Mapping[str, Any]) -> Any:
    """A Python type accepting what the JSON Schema ``prop`` describes (leniently)."""
    if "enum" in prop:
        return Literal[tuple(prop["enum"])]  # type: ignore[misc]
    if "anyOf" in prop:
        options = tuple(_py_type(p) for p in prop["anyOf"])
        return functools.reduce(operator.or_, options) if options else Any
    kind = prop.get("type")
    if isinstance(kind, list):
        return functools.reduce(operator.or_, (_py_type({"type": k}) for k in kind))
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind == "array":
        return list[_py_type(prop.get("items", {}))]  # type: ignore[misc]
    if kind == "object":
        extra = prop.get("additionalProperties")
        value = _py_type(extra) if isinstance(extra, dict) else Any
        return dict[str, value]  # type: ignore[valid-type]
    return Any  # $ref to a nested object, or no type: accept anything


def _default(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return msgspec.field(default_factory=lambda: msgspec.json.decode(
            msgspec.json.encode(value)))  # fmt: skip
    return value


def standin_type(pack: str, record: Mapping[str, Any]) -> ActivityType:
    """An ActivityType that validates like the registered one but cannot run.

    The gateway uses it to check in runbooks that use a pack installed only on
    runbook servers: properties are checked against the registered input
    schema (types, required, unknown), published fields against the output
    schema. Checks only the pack's code can make (``__post_init__``, dynamic
    fields) are not made.
    """
    from orch.errors import ActivityError
    from orch.sdk.declare import Inputs, Published

    name = record["name"]
    schema = record["input_schema"]
    required = set(schema.get("required", ()))
    fields: list[Any] = []
    for key, prop in schema.get("properties", {}).items():
        tp = _py_type(prop)
        if key in required:
            fields.append((key, tp))
        else:
            fields.append((key, tp, _default(prop.get("default"))))
    fields.sort(key=lambda f: len(f) == 3)  # required first
    inputs = msgspec.defstruct(f"{pack}_{name}_inputs", fields, bases=(Inputs,), kw_only=True,
                               forbid_unknown_fields=True)  # fmt: skip
    out = record["output_schema"]
    published = None
    if "properties" in out and not out.get("x-orch-dynamic"):
        published = msgspec.defstruct(f"{pack}_{name}_published",
                                      [(k, str) for k in out["properties"]],
                                      bases=(Published,), kw_only=True)  # fmt: skip

    async def not_installed(ctx: Any, inputs: Any) -> Any:
        raise ActivityError(f"activity type {pack}:{name} is not installed on this runbook server")

    setattr(not_installed, REGISTERED_ONLY, True)
    return ActivityType(
        name=name,
        fn=not_installed,
        inputs=inputs,
        published=published,
        multi_valued=bool(out.get("x-orch-multi-valued")),
        pack=pack,
        display_name=record.get("display_name") or name,
        description=record.get("description") or "",
        category=record.get("category") or "",
        rerunnable=bool(record.get("rerunnable")),
        monitor=bool(record.get("monitor")),
        default_timeout=record.get("default_timeout"),
    )
