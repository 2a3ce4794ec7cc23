"""Public routes about the service itself: liveness, readiness (``orch.gateway.availability``)
and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from orch.gateway.availability import health, ready
from orch.gateway.keys import OPENAPI

__all__ = ["health", "openapi", "ready"]


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")
