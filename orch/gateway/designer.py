"""Designer routes on a runbook: check-out and its undo, and version diffs.

Check-out marks the runbook as being edited by the caller: a check-in by
anyone else is then a 409 until the holder checks in (which releases it) or
undoes the check-out. Checking out again is harmless; taking over someone
else's check-out is a 409 as well.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from aiohttp import web

from orch.api import RunbookSummary
from orch.api.designer import DiffQuery
from orch.db import catalog
from orch.document.diff import RunbookDiff, diff_runbooks
from orch.document.model import convert as convert_document
from orch.gateway.audit import audit
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, path_uuid, read_query
from orch.gateway.errors import ConflictError, NotFoundError
from orch.gateway.keys import POOL
from orch.sql import Q


async def _locked(conn: asyncpg.Connection, runbook_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(Q.api_runbook_lock, runbook_id)
    if row is None:
        raise NotFoundError(f"no runbook {runbook_id}")
    return row


async def _summary(conn: asyncpg.Connection, runbook_id: UUID) -> RunbookSummary:
    row = await conn.fetchrow(Q.api_runbook_summary, runbook_id)
    assert row is not None
    return msgspec.convert(dict(row), RunbookSummary)


async def check_out(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await _locked(conn, runbook_id)
        principal = authorize(request, "design", row["path"])
        if row["holder_id"] is not None and row["holder_id"] != principal.user_id:
            raise ConflictError(f"{row['path']} is checked out by {row['holder']}",
                                code="checked-out")
        await conn.execute(Q.api_runbook_check_out, runbook_id, principal.user_id)
        await audit(conn, request, "runbook checked out", row["path"])
        summary = await _summary(conn, runbook_id)
    return json_response(summary)


async def undo_check_out(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        row = await _locked(conn, runbook_id)
        principal = authorize(request, "design", row["path"])
        if row["holder_id"] is not None and row["holder_id"] != principal.user_id:
            raise ConflictError(f"{row['path']} is checked out by {row['holder']}",
                                code="checked-out")
        await conn.execute(Q.api_runbook_undo_check_out, runbook_id)
        await audit(conn, request, "runbook check-out undone", row["path"])
        summary = await _summary(conn, runbook_id)
    return json_response(summary)


async def diff_versions(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request)
    query = read_query(request, DiffQuery)
    async with request.app[POOL].acquire() as conn:
        current = await conn.fetchrow(Q.api_runbook_summary, runbook_id)
        if current is None:
            raise NotFoundError(f"no runbook {runbook_id}")
        authorize(request, "view", current["path"])
        to = query.to if query.to is not None else current["current_version"]
        old = query.from_ if query.from_ is not None else max(1, to - 1)
        versions = []
        for number, field in ((old, "$.from"), (to, "$.to")):
            version = await catalog.get_version(conn, runbook_id, number)
            if version is None:
                raise NotFoundError(f"no version {number} of runbook {runbook_id}", path=field)
            versions.append(version)
    try:
        documents = [convert_document(v.document) for v in versions]
    except msgspec.ValidationError as e:  # a stored document no longer decodes: a bug
        raise RuntimeError(f"stored document of runbook {runbook_id} does not decode: {e}") \
            from None
    diff: RunbookDiff = diff_runbooks(documents[0], documents[1])
    return json_response(diff)
