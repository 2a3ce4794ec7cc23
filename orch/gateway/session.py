"""Console sessions: log in with a password, a cookie instead of a bearer token.

``POST /api/v1/session`` checks the password (argon2) and sets an HttpOnly,
SameSite=Strict cookie holding a random secret (Secure over https); the
database keeps only the secret's sha256. The middleware in ``auth.py`` asks
:func:`session_principal` when a request has no bearer token.

Writes made with the cookie are CSRF-checked: they must carry
``X-CSRF-Token`` equal to the session's token, which is an HMAC of the secret
(so it is never stored, and the page learns it from the log-in answer or
``GET /api/v1/me``). A cross-site page can make the browser send the cookie
with a form post, but it can read neither the token nor the answer. A
websocket opened with the cookie must come from the same origin.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import uuid
from urllib.parse import urlsplit

import msgspec
from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from orch.api import Operation
from orch.api.session import DirectoryMembership, Grant, Login, Me
from orch.directory import BadCredentials, ExternalIdentity
from orch.gateway.bodies import json_response, read_json
from orch.gateway.errors import BadRequest, Forbidden, HttpError, Unauthorized
from orch.gateway.external import check_directory_user, password_identity, record_sign_in
from orch.gateway.keys import POOL, PRINCIPAL, SETTINGS
from orch.gateway.principal import Principal
from orch.gateway.throttle import check_login_allowed, record_login_failure
from orch.logging import get_logger
from orch.sql import Q

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "ROUTES",
    "SESSION",
    "SESSION_SECONDS",
    "SessionInfo",
    "csrf_token_of",
    "session_principal",
    "set_session_cookie",
    "start_session",
]

log = get_logger("orch.gateway.session")

COOKIE = "orch_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600
"""A session ends after this long unused (it is pushed forward while in use)."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
"""Verified against when the user does not exist, so timing does not tell names apart."""


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    csrf_token: str


SESSION = web.RequestKey("session", SessionInfo)
"""Set when the request was authenticated by the session cookie."""


class UnsupportedMediaType(HttpError):
    status = 415
    code = "unsupported-media-type"


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_of(secret: str) -> str:
    """The session's CSRF token: derived from the cookie's secret, never stored."""
    mac = hmac.new(secret.encode(), b"orch-csrf-token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _same_origin(request: web.Request) -> bool:
    """No Origin header (not a browser's cross-site request), or the gateway's own."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.host and parts.scheme in {"http", "https"}


async def session_principal(request: web.Request) -> Principal | None:
    """The user of the request's session cookie (None without one); enforces CSRF rules.

    A live cookie on a write without the matching ``X-CSRF-Token`` is a 403; so
    is a websocket handshake from another origin.
    """
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    row = await request.app[POOL].fetchrow(
        Q.session_principal, _secret_hash(secret), float(SESSION_SECONDS)
    )
    if row is None:
        raise Unauthorized("the session has expired or was logged out: log in again")
    csrf = csrf_token_of(secret)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header for a session write",
                            code="csrf")
    elif request.headers.get("Upgrade", "").lower() == "websocket" and not _same_origin(request):
        raise Forbidden("a websocket with the session cookie must come from this origin",
                        code="csrf")
    if await check_directory_user(request, row):  # a directory user's groups read again
        row = await request.app[POOL].fetchrow(
            Q.session_principal, _secret_hash(secret), float(SESSION_SECONDS))
        if row is None:
            raise Unauthorized("the session has ended: log in again")
    request[SESSION] = SessionInfo(id=row["session_id"], csrf_token=csrf)
    return Principal(user_id=row["user_id"], name=row["name"], is_admin=row["is_admin"],
                     directory=row["directory"])


def _remote(request: web.Request) -> str | None:
    return request.remote


def _verify(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses weaker parameters)."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:
        return False, None
    if _hasher.check_needs_rehash(password_hash):
        return True, _hasher.hash(password)
    return True, None


def set_session_cookie(response: web.StreamResponse, request: web.Request,
                       secret: str) -> None:
    """The session's cookie on ``response`` (for a sign-in answered otherwise, e.g. OIDC's
    redirect after :func:`start_session`)."""
    _set_cookie(response, request, secret, SESSION_SECONDS)


def _set_cookie(response: web.StreamResponse, request: web.Request, value: str,
                max_age: int) -> None:
    response.set_cookie(
        COOKIE, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
        secure=request.secure,
    )


async def _me(request: web.Request, principal: Principal, csrf: str | None) -> Me:
    async with request.app[POOL].acquire() as conn:
        groups = [r["name"] for r in await conn.fetch(Q.me_groups, principal.user_id)]
        grants = [Grant(target=r["target"], rights=list(r["rights"]))
                  for r in await conn.fetch(Q.me_grants, principal.user_id)]
        found = await conn.fetchrow(Q.directory_me, principal.user_id)
    directory = None if found is None else DirectoryMembership(
        source=found["source"], groups=list(found["groups"]), refreshed_at=found["checked_at"])
    return Me(
        user_id=principal.user_id,
        name=principal.name,
        groups=groups,
        is_admin=principal.is_admin,
        auth="session" if csrf is not None else "token",
        csrf_token=csrf,
        grants=grants,
        directory=directory,
    )


async def login(request: web.Request) -> web.Response:
    """Check the password; on success a new session and its cookie (401 otherwise)."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("log in with a JSON body (Content-Type: application/json)")
    if not _same_origin(request):
        raise Forbidden("log in from the console's own origin", code="csrf")
    body = await read_json(request, Login)
    if not body.name or not body.password:
        raise BadRequest("a user name and a password are required", code="missing-credentials")
    pool = request.app[POOL]
    settings = request.app[SETTINGS]
    remote = _remote(request)
    await check_login_allowed(pool, settings, body.name, remote)
    row = await pool.fetchrow(Q.session_user_by_name, body.name)
    identity: ExternalIdentity | None = None
    rehashed: str | None = None
    try:  # a company directory's user: its password checked there (orch/gateway/external.py)
        identity = await password_identity(request, body.name, body.password, row)
        ok = True
    except BadCredentials:
        ok = False
    if ok and identity is None:
        stored = (None if row is None or row["disabled"] or row["source"] is not None
                  else row["password_hash"])
        # argon2 takes tens of milliseconds of CPU: off the event loop.
        ok, rehashed = await asyncio.to_thread(_verify, stored, body.password)
    if not ok or (identity is None and row is None):
        await record_login_failure(pool, settings, body.name, remote)
        log.info("login failed", user=body.name, remote=remote)
        raise Unauthorized("wrong user name or password", code="bad-credentials")
    secret, principal = await start_session(
        request, identity=identity, user_id=None if row is None else row["user_id"],
        rehashed=rehashed)
    me = await _me(request, principal, csrf_token_of(secret))
    response = json_response(me)
    _set_cookie(response, request, secret, SESSION_SECONDS)
    log.info("login", user=principal.name, remote=remote, directory=principal.directory)
    return response


async def start_session(
    request: web.Request, *, identity: ExternalIdentity | None = None,
    user_id: str | None = None, rehashed: str | None = None,
) -> tuple[str, Principal]:
    """A new session of a signed-in user: (the cookie's secret, the principal).

    ``identity``: a directory's person whose credentials its source checked — its
    user, groups and the audited sign-in are stored first. Otherwise ``user_id`` is a
    local user whose password was checked (``rehashed``: its stronger new hash).
    """
    remote = _remote(request)
    secret = secrets.token_urlsafe(32)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await conn.execute(Q.session_purge_expired)
        if identity is not None:
            user_id = await record_sign_in(conn, identity, remote)
            if await conn.fetchval(Q.directory_user_disabled, user_id):
                raise Forbidden(f"user {identity.name!r} is disabled in orch",
                                code="user-disabled")
        if user_id is None:
            raise ValueError("start_session needs an identity or a user id")
        await conn.execute(Q.session_create, uuid.uuid4(), _secret_hash(secret),
                           user_id, float(SESSION_SECONDS), remote)
        if rehashed is not None:
            await conn.execute(Q.session_rehash_password, user_id, rehashed)
        row = await conn.fetchrow(Q.session_user_by_id, user_id)
        if identity is None:
            await conn.execute(Q.session_audit, row["name"], "login", remote)
    return secret, Principal(user_id=row["user_id"], name=row["name"], is_admin=row["is_admin"],
                             directory=None if identity is None else identity.source)


async def logout(request: web.Request) -> web.Response:
    """End the cookie's session (the middleware already checked the CSRF token)."""
    info = request.get(SESSION)
    if info is None:
        raise BadRequest("this request was not made with a session cookie", code="no-session")
    principal = request[PRINCIPAL]
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await conn.execute(Q.session_delete, info.id)
        await conn.execute(Q.session_audit, principal.name, "logout", _remote(request))
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    info = request.get(SESSION)
    csrf = None if info is None else info.csrf_token
    return json_response(await _me(request, request[PRINCIPAL], csrf))


ROUTES = (
    (
        Operation("POST", "/api/v1/session", "login",
                  "Log in with a user name and password: sets the console's session cookie",
                  body=Login, response=Me, errors=(400, 401, 403, 422, 429), public=True,
                  tags=("session",)),
        login,
    ),
    (
        Operation("DELETE", "/api/v1/session", "logout",
                  "Log out: ends the session of the cookie (send X-CSRF-Token)",
                  status=204, errors=(400, 403), tags=("session",)),
        logout,
    ),
    (
        Operation("GET", "/api/v1/me", "me",
                  "The caller: name, groups, admin or not, grants, and its CSRF token",
                  response=Me, tags=("session",)),
        me,
    ),
)
