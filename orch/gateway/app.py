"""``make_app``: the gateway as a plain aiohttp Application, built from the route table.

Pure: it takes settings and an open pool and starts nothing itself; the
caller (``orch up``, ``orch gateway``, tests) owns the pool and runs the app
with ``AppRunner`` + ``TCPSite``. Background work that lives as long as the
app (the live feed's listener, when it comes) belongs in ``cleanup_ctx``.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from orch.api import build, encode
from orch.config import Settings
from orch.directory import Directory
from orch.gateway.auth import auth_middleware
from orch.gateway.availability import availability_middleware, install_availability
from orch.gateway.console import add_console_routes
from orch.gateway.errors import error_middleware
from orch.gateway.external import install_directory
from orch.gateway.keys import OPENAPI, POOL, PUBLIC_ROUTES, REGISTRY, SETTINGS
from orch.gateway.live import install_live
from orch.gateway.live.directory_watch import install_directory_watch
from orch.gateway.metrics import install_metrics
from orch.gateway.registered import install_registered_types
from orch.gateway.routes import ROUTES
from orch.gateway.tester import install_tester
from orch.sdk.registry import Registry, default_registry

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest request body (a runbook document); larger ones get a 413."""


def make_app(
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    registry: Registry | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    directory: Directory | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, availability_middleware, auth_middleware],
        client_max_size=max_body_bytes,
    )
    app[SETTINGS] = settings
    app[POOL] = pool
    install_availability(app)  # database state, start-up gate, request deadlines
    app[REGISTRY] = registry if registry is not None else default_registry()
    install_registered_types(app)  # + types registered in the database only
    install_directory(app, pool, directory)  # LDAP/OIDC sources, from the settings by default
    for operation, handler in ROUTES:
        app.router.add_route(
            operation.method, operation.path, handler, name=operation.operation_id
        )
    app[PUBLIC_ROUTES] = frozenset(op.operation_id for op, _ in ROUTES if op.public)
    app[OPENAPI] = encode(build(op for op, _ in ROUTES))
    install_live(app)
    install_directory_watch(app)  # closes the sockets of directory users who lost access
    install_metrics(app)  # GET /metrics, as ORCH_METRICS says
    install_tester(app)  # the designer's test runs (POST /api/v1/runbooks/test)
    add_console_routes(app)
    return app
