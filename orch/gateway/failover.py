"""Failover routes: server assignment, drain and maintenance, resuming a failed instance.

Each acts through the database (``orch.db.assignment``, ``orch.db.servers``,
``orch.db.resume``); the runbook servers follow the rows. Draining and
maintenance are for admins only; assignment needs ``design`` on the runbook
or folder; resuming an instance needs ``start`` on its runbook.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from orch.api import Job
from orch.api.failover import (
    FolderServers,
    RunbookServers,
    SetMaintenance,
    SetServers,
)
from orch.api.openapi import Operation
from orch.api.operations import Server
from orch.db import assignment, resume, servers
from orch.gateway import reads
from orch.gateway.audit import audit
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, path_uuid, read_json
from orch.gateway.errors import Invalid, NotFoundError
from orch.gateway.keys import POOL, REGISTRY, SETTINGS
from orch.gateway.principal import Principal
from orch.sql import Q

API = "/api/v1"
_NAME_PARAM = {"name": {"type": "string", "minLength": 1}}


def _admin(request: web.Request) -> Principal:
    """Managing runbook servers takes the system right ``deploy`` (admins hold it)."""
    return authorize(request, "deploy", "/")


# -- assignment ---------------------------------------------------------------------------

async def _runbook_path(request: web.Request) -> str:
    runbook_id = path_uuid(request)
    path = await request.app[POOL].fetchval(Q.assignment_runbook_path, runbook_id)
    if path is None:
        raise NotFoundError(f"no runbook {runbook_id}")
    return path


async def get_runbook_servers(request: web.Request) -> web.Response:
    authorize(request, "view", await _runbook_path(request))
    async with request.app[POOL].acquire() as conn:
        result = await assignment.runbook_servers(conn, path_uuid(request))
    if result is None:
        raise NotFoundError(f"no runbook {path_uuid(request)}")
    return json_response(result)


async def set_runbook_servers(request: web.Request) -> web.Response:
    body = await read_json(request, SetServers)
    principal = authorize(request, "design", await _runbook_path(request))
    try:
        async with request.app[POOL].acquire() as conn:
            result = await assignment.set_runbook_servers(
                conn, path_uuid(request), body.servers, actor=principal.name)
    except assignment.AssignmentInvalid as e:
        raise Invalid(e.message, path=e.path, code="invalid-servers") from None
    return json_response(result)


async def _folder_path(request: web.Request) -> str:
    folder_id = path_uuid(request)
    path = await request.app[POOL].fetchval(Q.assignment_folder_path, folder_id)
    if path is None:
        raise NotFoundError(f"no folder {folder_id}")
    return path


async def get_folder_servers(request: web.Request) -> web.Response:
    path = await _folder_path(request)
    authorize(request, "view", path)
    async with request.app[POOL].acquire() as conn:
        result = await assignment.folder_servers(conn, path)
    if result is None:
        raise NotFoundError(f"no folder {path}")
    return json_response(result)


async def set_folder_servers(request: web.Request) -> web.Response:
    body = await read_json(request, SetServers)
    path = await _folder_path(request)
    principal = authorize(request, "design", path)
    try:
        async with request.app[POOL].acquire() as conn:
            result = await assignment.set_folder_servers(
                conn, path, body.servers, actor=principal.name)
    except assignment.AssignmentInvalid as e:
        raise Invalid(e.message, path=e.path, code="invalid-servers") from None
    return json_response(result)


# -- drain and maintenance ----------------------------------------------------------------

async def _server(request: web.Request, name: str) -> Server:
    timeout = request.app[SETTINGS].server_timeout_seconds
    row = await request.app[POOL].fetchrow(Q.api_server, name, timeout)
    if row is None:
        raise NotFoundError(f"no runbook server named {name!r}")
    return msgspec.convert(dict(row), Server)


async def drain_server(request: web.Request) -> web.Response:
    principal = _admin(request)
    name = request.match_info["name"]
    async with request.app[POOL].acquire() as conn:
        await servers.drain_server(conn, name, actor=principal.name)
    return json_response(await _server(request, name), 202)


async def set_maintenance(request: web.Request) -> web.Response:
    body = await read_json(request, SetMaintenance)
    principal = _admin(request)
    name = request.match_info["name"]
    async with request.app[POOL].acquire() as conn:
        await servers.set_maintenance(conn, name, body.maintenance, actor=principal.name)
    return json_response(await _server(request, name))


# -- resume ---------------------------------------------------------------------------------

async def resume_instance(request: web.Request) -> web.Response:
    instance_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow(Q.instance_job_path, instance_id)
        if row is None:
            raise NotFoundError(f"no instance {instance_id}")
        principal = authorize(request, "start", row["path"])
        async with conn.transaction():
            await resume.resume_instance(conn, instance_id, actor=principal.name,
                                         registry=request.app[REGISTRY])
            await audit(conn, request, "instance resumed", row["path"],
                        {"job": row["job_id"], "instance": str(instance_id)})
        job = await reads.get_job(conn, row["job_id"])
    assert job is not None
    return json_response(job, 202)


ROUTES = (
    (Operation("GET", f"{API}/runbooks/{{id}}/servers", "get_runbook_servers",
               "The runbook's server assignment: its own, and the one in force",
               response=RunbookServers, errors=(403, 404), tags=("servers",)),
     get_runbook_servers),
    (Operation("PUT", f"{API}/runbooks/{{id}}/servers", "set_runbook_servers",
               "Assign runbook servers: primary first, then standbys (empty: inherit)",
               body=SetServers, response=RunbookServers, errors=(400, 403, 404, 422),
               tags=("servers",)),
     set_runbook_servers),
    (Operation("GET", f"{API}/folders/{{id}}/servers", "get_folder_servers",
               "The folder's server assignment, inherited by its runbooks without one",
               response=FolderServers, errors=(403, 404), tags=("servers",)),
     get_folder_servers),
    (Operation("PUT", f"{API}/folders/{{id}}/servers", "set_folder_servers",
               "Assign runbook servers to a folder and everything below it (empty: inherit)",
               body=SetServers, response=FolderServers, errors=(400, 403, 404, 422),
               tags=("servers",)),
     set_folder_servers),
    (Operation("POST", f"{API}/servers/{{name}}/drain", "drain_server",
               "Drain a server: it stops claiming, its instances get the grace period, the "
               "rest are resumed elsewhere; then it stays in maintenance (admins)",
               response=Server, status=202, path_params=_NAME_PARAM,
               errors=(403, 404, 409), tags=("servers",)),
     drain_server),
    (Operation("PUT", f"{API}/servers/{{name}}/maintenance", "set_server_maintenance",
               "Maintenance on: registered but claiming nothing, kept across restarts; "
               "off: claiming again (admins)",
               body=SetMaintenance, response=Server, path_params=_NAME_PARAM,
               errors=(400, 403, 404, 409, 422), tags=("servers",)),
     set_maintenance),
    (Operation("POST", f"{API}/instances/{{id}}/resume", "resume_instance",
               "Resume a failed instance: its failed activities run again, what succeeded "
               "is kept (same instance, new owner epoch)",
               response=Job, status=202, errors=(403, 404, 409), tags=("jobs",)),
     resume_instance),
)
