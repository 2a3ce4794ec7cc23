"""Bearer-token authentication and the authorization hook every handler calls.

A token is looked up by the sha256 (hex) of its text, so the database never
holds a usable secret. It must be neither revoked nor expired, and its user
not disabled. Without a bearer token, the console's session cookie
(``session.py``) is tried. A caller outside ``admins`` gets its grants (its
own and its groups', merged per target) loaded with it, once per request.

Authorization is deliberately one function, :func:`authorize`: the caller
holds the right on the path (or a folder above it), or the answer is a 403
when the path is visible to it and a 404 when it is not, so an operator
cannot tell an ungranted runbook from a missing one. Lists filter in SQL with
:func:`view_scope` instead.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from aiohttp import web

from orch.gateway.errors import Forbidden, NotFoundError, Unauthorized
from orch.gateway.external import check_directory_user
from orch.gateway.keys import POOL, PRINCIPAL, PUBLIC_ROUTES
from orch.gateway.principal import Principal, Right
from orch.gateway.session import session_principal
from orch.sql import Q

__all__ = ["Right", "auth_middleware", "authorize", "bearer_token", "require_admin",
           "token_hash", "view_scope", "with_grants"]

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
        request[PRINCIPAL] = await _with_grants(request, principal)
        return await handler(request)
    row = await request.app[POOL].fetchrow(Q.api_principal_by_token, token_hash(token))
    if row is None:
        raise Unauthorized("invalid, expired or revoked token")
    if await check_directory_user(request, row):  # a directory user's groups read again
        row = await request.app[POOL].fetchrow(Q.api_principal_by_token, token_hash(token))
        if row is None:
            raise Unauthorized("invalid, expired or revoked token")
    request[PRINCIPAL] = await _with_grants(request, Principal(
        user_id=row["user_id"],
        name=row["name"],
        is_admin=row["is_admin"],
        token_id=row["token_id"],
        directory=row["directory"],
    ))  # fmt: skip
    return await handler(request)


async def with_grants(request: web.Request, principal: Principal) -> Principal:
    """``principal`` with its grants (its own and its groups', merged per target) loaded."""
    return await _with_grants(request, msgspec.structs.replace(principal, grants=()))


async def _with_grants(request: web.Request, principal: Principal) -> Principal:
    if principal.is_admin:
        return principal
    rows = await request.app[POOL].fetch(Q.me_grants, principal.user_id)
    grants = tuple((r["target"], tuple(r["rights"])) for r in rows)
    return msgspec.structs.replace(principal, grants=grants)


def authorize(request: web.Request, right: Right, target: str | None = None) -> Principal:
    """The caller, if it holds ``right`` on ``target`` (a runbook or folder path, ``/`` when
    None); else 403 when the caller may see ``target``, 404 when it may not."""
    principal = request[PRINCIPAL]
    path = target or "/"
    if principal.is_admin or principal.may(right, path):
        return principal
    if principal.may_see(path):
        raise Forbidden(f"user {principal.name!r} may not {right} on {path}")
    raise NotFoundError("not found (or not visible to you)")


def require_admin(request: web.Request, what: str) -> Principal:
    """The caller if it is a member of ``admins`` (403 otherwise)."""
    principal = request[PRINCIPAL]
    if not principal.is_admin:
        raise Forbidden(f"only members of admins may {what}")
    return principal


def view_scope(request: web.Request) -> list[str] | None:
    """The caller's visible subtrees for a list query's filter (None: admins, everything)."""
    return request[PRINCIPAL].view_scope()
