"""Bearer-token authentication and the authorization hook every handler calls.

A token is looked up by the sha256 (hex) of its text, so the database never
holds a usable secret. It must be neither revoked nor expired, and its user
not disabled. Without a bearer token, the console's session cookie
(``session.py``) is tried. Authorization is deliberately one function, :func:`authorize`:
members of ``admins`` may do everything; the per-runbook and per-folder
grants of the permission model plug in there.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from aiohttp import web

from orch.gateway.errors import Forbidden, Unauthorized
from orch.gateway.keys import POOL, PRINCIPAL, PUBLIC_ROUTES
from orch.gateway.principal import Principal
from orch.gateway.session import session_principal
from orch.sql import Q

Right = Literal["view", "start", "stop", "design"]

API_PREFIX = "/api/"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    route_name = request.match_info.route.name
    if route_name is not None and route_name in request.app[PUBLIC_ROUTES]:
        return await handler(request)
    if route_name is None and not request.path.startswith(API_PREFIX):
        return await handler(request)  # unknown non-API path: a plain 404
    token = bearer_token(request)
    if token is None:
        principal = await session_principal(request)
        if principal is None:
            raise Unauthorized("missing credentials: send 'Authorization: Bearer <token>'")
        request[PRINCIPAL] = principal
        return await handler(request)
    row = await request.app[POOL].fetchrow(Q.api_principal_by_token, token_hash(token))
    if row is None:
        raise Unauthorized("invalid, expired or revoked token")
    request[PRINCIPAL] = Principal(
        user_id=row["user_id"],
        name=row["name"],
        is_admin=row["is_admin"],
        token_id=row["token_id"],
    )
    return await handler(request)


def authorize(request: web.Request, right: Right, target: str | None = None) -> Principal:
    """The caller, if it holds ``right`` on ``target`` (a runbook or folder path); else 403."""
    principal = request[PRINCIPAL]
    if principal.is_admin:
        return principal
    where = f" on {target}" if target else ""
    raise Forbidden(f"user {principal.name!r} may not {right}{where}")
