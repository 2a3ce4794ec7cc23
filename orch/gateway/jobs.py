"""Job and instance routes: start (by id or path), read, list, stop."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web

from orch.api import Fault, JobList, ListJobsQuery, StartJob
from orch.db.jobs import create_job, request_stop, resolve_runbook
from orch.document.faults import DocumentInvalid
from orch.gateway import reads
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, path_uuid, read_json, read_query
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import Invalid, NotFoundError
from orch.gateway.keys import POOL, REGISTRY
from orch.sql import Q


async def start_job(request: web.Request) -> web.Response:
    body = await read_json(request, StartJob)
    async with request.app[POOL].acquire() as conn:
        runbook = await resolve_runbook(conn, body.runbook)
        if runbook is None:
            raise NotFoundError(f"no runbook {body.runbook}", path="$.runbook")
        principal = authorize(request, "start", runbook.path)
        if body.server is not None and not await conn.fetchval(Q.api_server_exists, body.server):
            raise Invalid(f"no runbook server named {body.server!r}", path="$.server",
                          code="unknown-server")
        try:
            created = await create_job(
                conn,
                runbook=runbook,
                parameters=body.parameters,
                created_by=principal.user_id,
                target_server=body.server,
                registry=request.app[REGISTRY],
            )
        except DocumentInvalid as e:
            faults = [Fault(path=f.path, message=f.message, code=f.code) for f in e.faults]
            raise Invalid(e.message, path=e.path, faults=faults,
                          code="invalid-parameters") from None
        job = await reads.get_job(conn, created.id)
    assert job is not None
    return json_response(job, 201, headers={"Location": f"/api/v1/jobs/{job.id}"})


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
    after = decode_cursor(query.cursor, tuple[datetime, UUID])
    async with request.app[POOL].acquire() as conn:
        runbook_id = None
        target = "/"
        if query.runbook is not None:
            runbook = await resolve_runbook(conn, query.runbook)
            if runbook is None:
                raise Invalid(f"no runbook {query.runbook}", path="$.runbook",
                              code="invalid-query")
            runbook_id, target = runbook.id, runbook.path
        authorize(request, "view", target)
        rows = await reads.list_jobs(
            conn, runbook_id=runbook_id, status=query.status, after=after, limit=query.limit + 1
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
        await request_stop(conn, job_id)
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
