"""Typed keys for what the application and each request share."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from orch.config import Settings
from orch.gateway.principal import Principal
from orch.sdk.registry import Registry

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
REGISTRY = web.AppKey("registry", Registry)
OPENAPI = web.AppKey("openapi", bytes)
"""The OpenAPI document, encoded once when the app is built."""
PUBLIC_ROUTES = web.AppKey("public_routes", frozenset)
"""Route names reachable without credentials."""
PRINCIPAL = web.RequestKey("principal", Principal)
