"""Runbook properties over HTTP: ``POST /runbooks/{id}/disable`` and ``…/enable``.

Both need the ``design`` right on the runbook (what changes how a runbook
runs is the designer's, as in SCO). Starting a disabled runbook is a 409.
"""

from __future__ import annotations

from aiohttp import web

from orch.api.openapi import Operation
from orch.api.properties import RunbookEnabled
from orch.db.disable import set_disabled
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, path_uuid
from orch.gateway.errors import NotFoundError
from orch.gateway.keys import POOL
from orch.sql import Q

API = "/api/v1"


async def _toggle(request: web.Request, disabled: bool) -> web.Response:
    runbook_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        path = await conn.fetchval(Q.assignment_runbook_path, runbook_id)
        if path is None:
            raise NotFoundError(f"no runbook {runbook_id}")
        principal = authorize(request, "design", path)
        result = await set_disabled(conn, runbook_id, disabled, actor=principal.name)
    return json_response(result)


async def disable_runbook(request: web.Request) -> web.Response:
    return await _toggle(request, True)


async def enable_runbook(request: web.Request) -> web.Response:
    return await _toggle(request, False)


ROUTES = (
    (Operation("POST", f"{API}/runbooks/{{id}}/disable", "disable_runbook",
               "Disable a runbook: new starts are refused (409), queued jobs wait "
               "('runbook disabled'), its monitor job is stopped",
               response=RunbookEnabled, errors=(403, 404), tags=("runbooks",)),
     disable_runbook),
    (Operation("POST", f"{API}/runbooks/{{id}}/enable", "enable_runbook",
               "Enable a disabled runbook again: it takes jobs, its queued jobs can run",
               response=RunbookEnabled, errors=(403, 404), tags=("runbooks",)),
     enable_runbook),
)
