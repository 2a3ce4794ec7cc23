"""The activity-type catalogue, the runbook JSON Schema, and a draft's outline.

- ``GET /activity-types`` and ``GET /activity-types/{type}``: every type the
  system knows — the packs installed where the gateway runs, and the types
  registered in the database for packs installed only on runbook servers —
  with display name, category, description, and the input and output JSON
  Schemas (generated from the pack's Structs, or as registered). Any
  authenticated caller may read them: they describe code, not runbooks.
- ``GET /schemas/runbook.json``: the ``orch.runbook/1`` JSON Schema with a
  per-type rule for activity properties (:mod:`orch.document.jsonschema`).
  Public, so an editor can fetch it from a document's ``$schema`` without
  credentials; it holds nothing the open-source code does not (the type list
  of registered packs aside).
- ``POST /runbooks/outline``: for a draft document, each activity's published
  fields (dynamic ones included: ``initialize_data``'s parameters,
  ``run_program``'s ``split_output``…) and the activities upstream of it — what
  the designer offers in "Insert published data…" and in the link form.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from aiohttp import web

from orch.api.catalog import (
    ActivityTypeInfo,
    ActivityTypeList,
    ListActivityTypesQuery,
    OutlineActivity,
    RunbookOutline,
)
from orch.api.openapi import Operation
from orch.document.checker import analyze
from orch.document.expr import RUNBOOK_FIELDS
from orch.document.jsonschema import TypeSchema, runbook_schema
from orch.document.model import Runbook as RunbookDocument
from orch.document.model import convert as convert_document
from orch.gateway.bodies import (
    json_response,
    parse_json,
    read_bytes,
    read_query,
    split_validation_error,
)
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import Invalid, NotFoundError
from orch.gateway.keys import POOL, REGISTRY
from orch.gateway.registered import GatewayRegistry
from orch.sdk.declare import COMMON_FIELDS, ActivityType
from orch.sdk.registry import Registry
from orch.sdk.schema import input_schema, is_registered_only, output_schema
from orch.sql import Q

API = "/api/v1"
SCHEMA_PATH = f"{API}/schemas/runbook.json"

__all__ = ["ROUTES", "SCHEMA_PATH", "catalogue"]


def _plain_owner(types: Iterable[ActivityTypeInfo]) -> dict[str, str]:
    """Plain name → the qualified type it selects (``core`` wins, else the first pack)."""
    owner: dict[str, str] = {}
    for t in sorted(types, key=lambda t: (t.pack != "core", t.pack)):
        owner.setdefault(t.name, t.type)
    return owner


def _installed(t: ActivityType) -> ActivityTypeInfo:
    return ActivityTypeInfo(
        type=t.qualified_name, name=t.name, pack=t.pack, plain_name=False,
        display_name=t.display_name or t.name, category=t.category, description=t.description,
        rerunnable=t.rerunnable, monitor=t.monitor, multi_valued=t.multi_valued,
        installed_on_gateway=True, input_schema=input_schema(t), output_schema=output_schema(t),
    )  # fmt: skip


def _registered(row: Mapping[str, Any]) -> ActivityTypeInfo:
    out = row["output_schema"]
    return ActivityTypeInfo(
        type=f"{row['pack']}:{row['name']}", name=row["name"], pack=row["pack"], plain_name=False,
        display_name=row["display_name"] or row["name"], category=row["category"] or "",
        description=row["description"] or "", rerunnable=bool(row["rerunnable"]),
        monitor=bool(row["monitor"]), multi_valued=bool(out.get("x-orch-multi-valued")),
        installed_on_gateway=False, input_schema=row["input_schema"], output_schema=out,
    )  # fmt: skip


_INSTALLED: weakref.WeakKeyDictionary[Registry, dict[str, ActivityTypeInfo]] = (
    weakref.WeakKeyDictionary()
)
"""The installed types' entries, made once per registry (a registry does not change once
loaded, and their schemas take a few milliseconds each to generate)."""


def _installed_types(base: Registry) -> dict[str, ActivityTypeInfo]:
    known = _INSTALLED.get(base)
    if known is None:
        known = {t.qualified_name: _installed(t) for t in base if not is_registered_only(t)}
        _INSTALLED[base] = known
    return known


async def catalogue(request: web.Request) -> list[ActivityTypeInfo]:
    """Every known type, sorted by qualified name (installed ones win over registrations)."""
    registry = request.app[REGISTRY]
    base: Registry = registry.base if isinstance(registry, GatewayRegistry) else registry
    found: dict[str, ActivityTypeInfo] = dict(_installed_types(base))
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(Q.registered_types_latest)
    for row in rows:
        qualified = f"{row['pack']}:{row['name']}"
        if qualified not in found:
            found[qualified] = _registered(dict(row))
    owners = _plain_owner(found.values())
    return [msgspec.structs.replace(t, plain_name=owners.get(t.name) == t.type)
            for _, t in sorted(found.items())]  # fmt: skip


async def list_activity_types(request: web.Request) -> web.Response:
    query = read_query(request, ListActivityTypesQuery)
    after = decode_cursor(query.cursor, str)
    items = [t for t in await catalogue(request)
             if (query.category is None or t.category == query.category)
             and (after is None or t.type > after)]  # fmt: skip
    page = items[: query.limit]
    next_cursor = encode_cursor(page[-1].type) if len(items) > query.limit else None
    return json_response(ActivityTypeList(items=page, next=next_cursor))


async def get_activity_type(request: web.Request) -> web.Response:
    wanted = request.match_info["type"]
    types = await catalogue(request)
    for t in types:
        if t.type == wanted or (t.plain_name and t.name == wanted):
            return json_response(t)
    raise NotFoundError(f"no activity type {wanted!r} (see GET {API}/activity-types)")


async def get_runbook_schema(request: web.Request) -> web.Response:
    types = await catalogue(request)
    schema = runbook_schema(
        (TypeSchema(qualified_name=t.type, name=t.name, plain_ok=t.plain_name,
                    display_name=t.display_name, description=t.description,
                    input_schema=t.input_schema) for t in types),
        schema_id=str(request.url.with_query(None).with_fragment(None)),
    )  # fmt: skip
    return web.Response(body=msgspec.json.encode(schema), content_type="application/json",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip


# -- the outline of a draft ---------------------------------------------------------------


def _ancestors(doc: RunbookDocument) -> dict[str, list[str]]:
    """Activity id → every activity with a path to it (document order; cycle-safe)."""
    preds: dict[str, set[str]] = {a.id: set() for a in doc.activities}
    for link in doc.links:
        if link.to in preds and link.from_ in preds:
            preds[link.to].add(link.from_)
    order = {a.id: i for i, a in enumerate(doc.activities)}
    out: dict[str, list[str]] = {}
    for aid in preds:
        seen: set[str] = set()
        stack = list(preds[aid])
        while stack:
            p = stack.pop()
            if p in seen or p == aid:
                continue
            seen.add(p)
            stack.extend(preds[p])
        out[aid] = sorted(seen, key=order.__getitem__)
    return out


def _fields(doc: RunbookDocument, types: Mapping[str, ActivityType],
            sources: Mapping[str, str]) -> dict[str, list[str] | None]:  # fmt: skip
    by_id = {a.id: a for a in doc.activities}
    memo: dict[str, list[str] | None] = {}

    def of(aid: str) -> list[str] | None:
        if aid in memo:
            return memo[aid]
        memo[aid] = None  # junction chains that loop back
        atype = types.get(aid)
        own: Iterable[str] | None = None
        if atype is not None and atype.role == "junction":
            source = sources.get(aid)
            inner = of(source) if source is not None else []
            own = None if inner is None else [f for f in inner if f not in COMMON_FIELDS]
        elif atype is not None:
            try:
                own = atype.fields(by_id[aid].properties)
            except Exception:  # a pack's hook must not break the outline
                own = None
            if own is not None and not all(isinstance(f, str) for f in own):
                own = None
        result = None if own is None else sorted(set(own)) + sorted(COMMON_FIELDS)
        memo[aid] = result
        return result

    return {aid: of(aid) for aid in by_id}


async def outline(request: web.Request) -> web.Response:
    data = parse_json(await read_bytes(request))
    try:
        doc = convert_document(data)  # as check-in decodes (a "$schema" is ignored)
    except msgspec.ValidationError as e:
        message, path = split_validation_error(e)
        raise Invalid(message, path=path) from None
    analysis = analyze(doc, request.app[REGISTRY])
    fields = _fields(doc, analysis.types, analysis.junction_sources)
    upstream = _ancestors(doc)
    seen: set[str] = set()
    items = []
    for act in doc.activities:
        if act.id in seen:
            continue
        seen.add(act.id)
        atype = analysis.types.get(act.id)
        items.append(OutlineActivity(
            id=act.id, type=act.type, known_type=atype.qualified_name if atype else None,
            fields=fields.get(act.id), upstream=upstream.get(act.id, []),
        ))  # fmt: skip
    return json_response(RunbookOutline(
        activities=items, parameters=[p.name for p in analysis.parameters],
        runbook_fields=sorted(RUNBOOK_FIELDS),
    ))  # fmt: skip


_TYPE_PARAM = {"type": {"type": "string", "description": "`pack:name`, or a plain name"}}

ROUTES = (
    (Operation("GET", f"{API}/activity-types", "list_activity_types",
               "Every activity type (installed packs and registered ones) with its input and "
               "output JSON Schemas", query=ListActivityTypesQuery, response=ActivityTypeList,
               errors=(422,), tags=("designer",)),
     list_activity_types),
    (Operation("GET", f"{API}/activity-types/{{type}}", "get_activity_type",
               "One activity type (by `pack:name` or plain name) with its JSON Schemas",
               response=ActivityTypeInfo, path_params=_TYPE_PARAM, errors=(404,),
               tags=("designer",)),
     get_activity_type),
    (Operation("GET", SCHEMA_PATH, "get_runbook_schema",
               "The orch.runbook/1 JSON Schema (with a rule per activity type) for editors",
               public=True, tags=("designer",)),
     get_runbook_schema),
    (Operation("POST", f"{API}/runbooks/outline", "outline_runbook",
               "A draft document's activities: the fields each publishes and the activities "
               "upstream of it", body=RunbookDocument, response=RunbookOutline, errors=(422,),
               tags=("designer",)),
     outline),
)
