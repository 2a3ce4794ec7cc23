"""Runbook routes: check-in of new runbooks and new versions, and reads."""

from __future__ import annotations

from aiohttp import web

from orch.api import CheckInQuery, ListRunbooksQuery, RunbookList
from orch.db import catalog
from orch.document.graph import CompiledRunbook
from orch.document.validate import load
from orch.gateway.audit import audit
from orch.gateway.auth import authorize, view_scope
from orch.gateway.bodies import (
    json_response,
    parse_json,
    path_int,
    path_uuid,
    read_bytes,
    read_query,
)
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import NotFoundError
from orch.gateway.keys import POOL, REGISTRY


async def _read_document(request: web.Request) -> CompiledRunbook:
    """The body as a validated, compiled runbook: 400 if not JSON, 422 with every fault."""
    body = await read_bytes(request)
    parse_json(body)  # malformed JSON is a 400, not a document fault
    return load(body, request.app[REGISTRY])


async def create_runbook(request: web.Request) -> web.Response:
    query = read_query(request, CheckInQuery)
    compiled = await _read_document(request)
    principal = authorize(request, "design", compiled.runbook.path)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        result = await catalog.check_in_new(
            conn, compiled, comment=query.comment, user_id=principal.user_id
        )
        await audit(conn, request, "runbook checked in", result.path,
                    {"id": str(result.id), "version": result.version, "created": True})
    return json_response(result, 201, headers={"Location": f"/api/v1/runbooks/{result.id}"})


async def update_runbook(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request)
    query = read_query(request, CheckInQuery)
    compiled = await _read_document(request)
    principal = authorize(request, "design", compiled.runbook.path)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        result = await catalog.check_in_version(
            conn, runbook_id, compiled, comment=query.comment, user_id=principal.user_id
        )
        await audit(conn, request, "runbook checked in", result.path,
                    {"id": str(result.id), "version": result.version})
    return json_response(result)


async def list_runbooks(request: web.Request) -> web.Response:
    query = read_query(request, ListRunbooksQuery)
    after = decode_cursor(query.cursor, str)
    async with request.app[POOL].acquire() as conn:
        rows = await catalog.list_runbooks(
            conn, folder=query.folder, after=after, limit=query.limit + 1,
            scope=view_scope(request),
        )
    items = rows[: query.limit]
    next_cursor = encode_cursor(items[-1].path) if len(rows) > query.limit else None
    return json_response(RunbookList(items=items, next=next_cursor))


async def get_runbook(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        runbook = await catalog.get_runbook(conn, runbook_id)
    if runbook is None:
        raise NotFoundError(f"no runbook {runbook_id}")
    authorize(request, "view", runbook.path)
    return json_response(runbook)


async def get_runbook_version(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request)
    version_number = path_int(request, "v")
    async with request.app[POOL].acquire() as conn:
        version = await catalog.get_version(conn, runbook_id, version_number)
    if version is None:
        raise NotFoundError(f"no version {version_number} of runbook {runbook_id}")
    authorize(request, "view", version.path)
    return json_response(version)
