"""Activity types registered in the database but not installed where the gateway runs.

A pack may be installed only on the runbook servers that run it
(``orch ip install`` there registers its types with their JSON Schemas). The
gateway's registry is the installed packs plus a *stand-in* for every
registered type it does not have (:func:`orch.sdk.schema.standin_type`): check-in
validates properties and published-field references against the registered
schemas, and starting a job compiles; only servers that report the type
claim it. Checks that need the pack's own code (an Inputs ``__post_init__``,
dynamic published fields) are made only where the pack is installed.

The stand-ins are refreshed before each write that validates or compiles a
runbook (check-in, import, job start), when the registrations changed
(one small query).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
from aiohttp import web

from orch.gateway.keys import POOL, REGISTRY
from orch.logging import get_logger
from orch.sdk.declare import ActivityType
from orch.sdk.registry import Registry
from orch.sdk.schema import standin_type
from orch.sql import Q

__all__ = ["GatewayRegistry", "install_registered_types"]

log = get_logger(__name__)

_REFRESH_PREFIXES = ("/api/v1/runbooks", "/api/v1/jobs")


class GatewayRegistry(Registry):
    """The installed packs (``base``), then stand-ins for types registered only.

    Iteration and ``packs()`` show the installed packs only: stand-ins are for
    validation, not for saying what the gateway has.
    """

    def __init__(self, base: Registry) -> None:
        super().__init__()
        self.base = base
        self.versions = base.versions
        self.extra = Registry()
        self.stamp: str | None = None
        self._lock = asyncio.Lock()

    def get(self, type_name: str) -> ActivityType | None:
        return self.base.get(type_name) or self.extra.get(type_name)

    def __iter__(self) -> Iterator[ActivityType]:
        return iter(self.base)

    def packs(self) -> dict[str, list[ActivityType]]:
        return self.base.packs()

    async def refresh(self, conn: asyncpg.Connection) -> None:
        stamp = await conn.fetchval(Q.registered_types_stamp)
        if stamp == self.stamp:
            return
        async with self._lock:
            if stamp == self.stamp:
                return
            extra = Registry()
            for row in await conn.fetch(Q.registered_types_latest):
                qualified = f"{row['pack']}:{row['name']}"
                if self.base.get(qualified) is not None:
                    continue  # installed here: the real type wins
                try:
                    extra.add(standin_type(row["pack"], dict(row)))
                except (TypeError, ValueError, KeyError) as exc:
                    log.warning("unusable registered schema", type=qualified, error=str(exc))
            self.extra = extra
            self.stamp = stamp


@web.middleware
async def _refresh_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    registry = request.app[REGISTRY]
    if (
        request.method in ("POST", "PUT")
        and isinstance(registry, GatewayRegistry)
        and request.path.startswith(_REFRESH_PREFIXES)
    ):
        async with request.app[POOL].acquire() as conn:
            await registry.refresh(conn)
    return await handler(request)


def install_registered_types(app: web.Application) -> None:
    """Wrap the app's registry and refresh its stand-ins before validating writes."""
    registry = app[REGISTRY]
    if not isinstance(registry, GatewayRegistry):
        app[REGISTRY] = GatewayRegistry(registry)
    app.middlewares.append(_refresh_middleware)
