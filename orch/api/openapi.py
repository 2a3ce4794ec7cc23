"""The OpenAPI 3.1 document, generated from the same Structs the gateway decodes and encodes.

Each route of the gateway is an :class:`Operation` (method, path, body, query,
response types). The gateway's route table binds handlers to operations, and
this module turns the same table into ``/api/v1/openapi.json`` — so the
description cannot drift from what the server actually accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from orch import __version__
from orch.api.errors import ErrorBody

_REF = "#/components/schemas/{name}"
_PATH_PARAM = re.compile(r"\{(\w+)\}")

ERROR_TEXT = {
    400: "Malformed request (not JSON, or not the expected JSON structure); a request the "
         "HTTP server cannot parse (such as an over-long URL) gets a plain-text 400",
    401: "No or bad credentials",
    403: "Visible but not allowed",
    404: "Unknown, or not visible to the caller",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "The body is not `application/json`",
    422: "Well-formed but invalid document or body; `error.path` names the fault",
    429: "Too many failed logins: wait `Retry-After` seconds",
    503: "A service it needs is unavailable (the database, a directory, an identity "
         "provider): retry later",
}


@dataclass(frozen=True, slots=True)
class Operation:
    """One route as clients see it; the gateway's route table pairs it with a handler."""

    method: str
    path: str
    operation_id: str
    summary: str
    response: Any = None
    """Response body type (None: no body)."""
    status: int = 200
    body: Any = None
    """Request body type (None: no body)."""
    body_media_type: str = "application/json"
    """The body's media type (``str`` bodies of another type are described as text)."""
    query: Any = None
    """A Query Struct whose fields are the query-string parameters."""
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Schema per path parameter; the default is a UUID string."""
    errors: tuple[int, ...] = ()
    """Error statuses (their body is ``ErrorBody``); 401 is implied unless public."""
    alt_statuses: tuple[int, ...] = ()
    """Other statuses answered with the ``response`` body (e.g. /health's 503)."""
    public: bool = False
    tags: tuple[str, ...] = ()
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Request headers it reads: name → ``{"description", "schema"}``."""
    description: str = ""
    messages: tuple[Any, Any] | None = None
    """A websocket's (client → server, server → client) message types, described
    under the ``x-websocket`` extension."""


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    out = []
    for name in _PATH_PARAM.findall(op.path):
        schema = op.path_params.get(name, {"type": "string", "format": "uuid"})
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _query_parameters(op: Operation) -> list[dict[str, Any]]:
    if op.query is None:
        return []
    (schema,), components = msgspec.json.schema_components([op.query], ref_template=_REF)
    name = schema["$ref"].rsplit("/", 1)[1]
    struct_schema = components[name]
    required = set(struct_schema.get("required", ()))
    return [
        {"name": key, "in": "query", "required": key in required, "schema": _not_null(prop)}
        for key, prop in struct_schema.get("properties", {}).items()
    ]


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or text, never null: drop the null branch of ``X | None``."""
    options = schema.get("anyOf")
    if options is None:
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _header_parameters(op: Operation) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "header", "required": False, **spec}
        for name, spec in op.headers.items()
    ]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def build(operations: Iterable[Operation], *, title: str = "orch") -> dict[str, Any]:
    """The OpenAPI document for ``operations`` (every body type under components)."""
    ops = list(operations)
    types: list[Any] = [ErrorBody]
    for op in ops:
        types += [t for t in (op.body, op.response, *(op.messages or ())) if t is not None]
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    ref = dict(zip((_type_key(t) for t in types), schemas, strict=True))
    error_ref = ref[_type_key(ErrorBody)]

    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {}
        ok: dict[str, Any] = {"description": op.summary}
        if op.response is not None:
            ok["content"] = _json(ref[_type_key(op.response)])
        responses[str(op.status)] = ok
        for code in op.alt_statuses:
            responses[str(code)] = {**ok, "description": f"{op.summary} ({code})"}
        body_errors = (413, 415) if op.body is not None else ()
        for code in sorted({400, *op.errors, *body_errors, *(() if op.public else (401,))}):
            content = _json(error_ref)
            if code == 400:  # any request may be one the HTTP parser refuses (plain text)
                content["text/plain"] = {"schema": {"type": "string"}}
            responses[str(code)] = {"description": ERROR_TEXT[code], "content": content}
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "parameters": _path_parameters(op) + _query_parameters(op) + _header_parameters(op),
            "responses": responses,
        }
        if op.tags:
            entry["tags"] = list(op.tags)
        if op.description:
            entry["description"] = op.description
        if op.messages is not None:
            send, receive = (ref[_type_key(t)] for t in op.messages)
            entry["x-websocket"] = {"send": send, "receive": receive}
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {op.body_media_type: {"schema": ref[_type_key(op.body)]}},
            }
        if op.public:
            entry["security"] = []
        paths.setdefault(op.path, {})[op.method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _type_key(t: Any) -> str:
    return repr(t)
