"""Job and instance routes: start (by id or path), re-run, read, list, stop."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from aiohttp import web

from orch.api import JobList, ListJobsQuery, StartJob
from orch.api.jobs import RerunQuery
from orch.db.jobs import request_stop, resolve_runbook
from orch.gateway import reads, starts
from orch.gateway.audit import audit
from orch.gateway.auth import authorize, view_scope
from orch.gateway.bodies import json_response, path_uuid, read_json, read_query
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import Invalid, NotFoundError
from orch.gateway.keys import POOL, PRINCIPAL
from orch.sql import Q


async def start_job(request: web.Request) -> web.Response:
    body = await read_json(request, StartJob)
    starts.idempotency_key(request)  # a malformed key is a 422 before any work
    async with request.app[POOL].acquire() as conn:
        runbook = await resolve_runbook(conn, body.runbook)
        if runbook is None:
            raise NotFoundError(f"no runbook {body.runbook}", path="$.runbook")
        principal = authorize(request, "start", runbook.path)
        if body.server is not None and not await conn.fetchval(Q.api_server_exists, body.server):
            raise Invalid(f"no runbook server named {body.server!r}", path="$.server",
                          code="unknown-server")
        digest = starts.request_digest("start", msgspec.to_builtins(body))
        return await starts.start(request, conn, runbook=runbook, parameters=body.parameters,
                                  server=body.server, principal=principal, digest=digest,
                                  priority=body.priority)


async def rerun_job(request: web.Request) -> web.Response:
    job_id = path_uuid(request)
    query = read_query(request, RerunQuery)
    starts.idempotency_key(request)
    async with request.app[POOL].acquire() as conn:
        origin = await conn.fetchrow(Q.api_job_origin, job_id)
        if origin is None:
            raise NotFoundError(f"no job {job_id}")
        principal = authorize(request, "start", origin["path"])
        runbook = await resolve_runbook(conn, origin["runbook_id"])
        assert runbook is not None  # jobs go with their runbook (ON DELETE CASCADE)
        if query.version == "same":
            runbook = msgspec.structs.replace(runbook, current_version=origin["runbook_version"])
        digest = starts.request_digest("rerun", str(job_id), query.version)
        return await starts.start(request, conn, runbook=runbook,
                                  parameters=dict(origin["parameters"]),
                                  server=origin["target_server"], principal=principal,
                                  digest=digest, audit_action="job rerun",
                                  audit_data={"rerun_of": str(job_id),
                                              "version": query.version})


async def get_job(request: web.Request) -> web.Response:
    job_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        job = await reads.get_job(conn, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    authorize(request, "view", job.runbook_path)
    return json_response(job)


async def list_jobs(request: web.Request) -> web.Response:
    query = read_query(request, ListJobsQuery)
    if query.since is not None and query.until is not None and query.since > query.until:
        raise Invalid("since is after until", path="$.since", code="invalid-query")
    after = decode_cursor(query.cursor, tuple[datetime, UUID])
    async with request.app[POOL].acquire() as conn:
        runbook_id = None
        if query.runbook is not None:
            runbook = await resolve_runbook(conn, query.runbook)
            if runbook is None or not request[PRINCIPAL].may_see(runbook.path):
                raise Invalid(f"no runbook {query.runbook}", path="$.runbook",
                              code="invalid-query")
            runbook_id = runbook.id
        rows = await reads.list_jobs(
            conn, runbook_id=runbook_id, status=query.status, server=query.server,
            since=query.since, until=query.until, after=after, limit=query.limit + 1,
            scope=view_scope(request),
        )
    items = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        next_cursor = encode_cursor((items[-1].created_at, items[-1].id))
    return json_response(JobList(items=items, next=next_cursor))


async def stop_job(request: web.Request) -> web.Response:
    job_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        path = await reads.runbook_path_of_job(conn, str(job_id))
        if path is None:
            raise NotFoundError(f"no job {job_id}")
        authorize(request, "stop", path)
        async with conn.transaction():
            await request_stop(conn, job_id)
            await audit(conn, request, "job stop requested", path, {"job": str(job_id)})
        job = await reads.get_job(conn, job_id)
    assert job is not None
    return json_response(job, 202)


async def get_instance(request: web.Request) -> web.Response:
    instance_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        instance = await reads.get_instance(conn, instance_id)
        path = None if instance is None else await reads.runbook_path_of_job(conn, instance.job_id)
    if instance is None or path is None:
        raise NotFoundError(f"no instance {instance_id}")
    authorize(request, "view", path)
    return json_response(instance)
