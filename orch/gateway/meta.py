"""Public routes about the service itself: liveness and the OpenAPI document."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web

from orch import __version__
from orch.api import Health
from orch.gateway.bodies import json_response
from orch.gateway.keys import OPENAPI, POOL
from orch.sql import Q

HEALTH_DB_TIMEOUT = 2.0


async def health(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise (what a load balancer wants)."""
    try:
        async with asyncio.timeout(HEALTH_DB_TIMEOUT):
            await request.app[POOL].fetchval(Q.api_health)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        body = Health(status="unavailable", version=__version__, database="unavailable")
        return json_response(body, 503)
    return json_response(Health(status="ok", version=__version__, database="ok"))


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")
