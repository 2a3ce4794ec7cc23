"""Starting jobs over HTTP: the ``Idempotency-Key`` contract, shared by start and re-run.

A start with an ``Idempotency-Key`` header is recorded under that key (per
user) in the same transaction as the job row and its NOTIFY: a retried start
— the response was lost, the client timed out — finds the key and answers
with the same job (header ``Idempotent-Replayed: true``) instead of starting
a second one. Two retries racing each other are ordered by the key's primary
key: the second waits for the first's commit, then finds its job. The same
key with a different request is a 409.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from orch.api import Fault, Job
from orch.db.jobs import RunbookRow, create_job
from orch.document.faults import DocumentInvalid
from orch.gateway import reads
from orch.gateway.audit import audit
from orch.gateway.bodies import json_response
from orch.gateway.errors import ConflictError, Invalid
from orch.gateway.keys import REGISTRY
from orch.gateway.principal import Principal
from orch.sql import Q

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

IDEMPOTENCY_PARAM = {
    IDEMPOTENCY_HEADER: {
        "description": "Makes the start safe to retry: the same key (per user) returns the "
                       "job of the first start instead of starting another.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": "^[\\x21-\\x7e]+$"},
    }
}


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _KEY.match(key):
        raise Invalid("Idempotency-Key must be 1 to 255 visible ASCII characters",
                      path=IDEMPOTENCY_HEADER, code="invalid-header")
    return key


def request_digest(*parts: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(parts, order="sorted")).hexdigest()


async def start(
    request: web.Request,
    conn: asyncpg.Connection,
    *,
    runbook: RunbookRow,
    parameters: dict[str, Any],
    server: str | None,
    principal: Principal,
    digest: str,
    priority: int = 0,
    audit_action: str = "job started",
    audit_data: dict[str, object] | None = None,
) -> web.Response:
    """Start the job (or find the one started under the request's key); 201 with it.
    The audit row (``audit_action``) commits with the job; a replay writes none."""
    key = idempotency_key(request)
    async with conn.transaction():
        if key is not None:
            fresh = await conn.fetchval(Q.api_idempotency_claim, principal.user_id, key, digest)
            if not fresh:
                return await _replay(conn, principal, key, digest)
        try:
            created = await create_job(
                conn,
                runbook=runbook,
                parameters=parameters,
                created_by=principal.user_id,
                target_server=server,
                registry=request.app[REGISTRY],
                priority=priority,
            )
        except DocumentInvalid as e:
            faults = [Fault(path=f.path, message=f.message, code=f.code) for f in e.faults]
            raise Invalid(e.message, path=e.path, faults=faults,
                          code="invalid-parameters") from None
        if key is not None:
            await conn.execute(Q.api_idempotency_set_job, principal.user_id, key, created.id)
        await audit(conn, request, audit_action, runbook.path,
                    {"job": str(created.id), **(audit_data or {})})
        job = await reads.get_job(conn, created.id)
    assert job is not None
    return _created(job)


async def _replay(
    conn: asyncpg.Connection, principal: Principal, key: str, digest: str
) -> web.Response:
    row = await conn.fetchrow(Q.api_idempotency_get, principal.user_id, key)
    assert row is not None and row["job_id"] is not None  # both set in one transaction
    if row["request_hash"] != digest:
        raise ConflictError("this Idempotency-Key was used for a different request",
                            path=IDEMPOTENCY_HEADER, code="idempotency-key-reused")
    job = await reads.get_job(conn, uuid.UUID(row["job_id"]))
    assert job is not None  # the key row goes with its job (ON DELETE CASCADE)
    return _created(job, replayed=True)


def _created(job: Job, *, replayed: bool = False) -> web.Response:
    headers = {"Location": f"/api/v1/jobs/{job.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(job, 201, headers=headers)
