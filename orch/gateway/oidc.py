"""Signing in through an OpenID provider: the two public routes of the flow.

``GET /api/v1/session/oidc/start`` starts an attempt (orch/directory/oidc/attempt.py:
its secrets in a short-lived HttpOnly cookie, ``SameSite=Lax`` because the provider's
redirect back is a cross-site navigation) and redirects to the provider's
authorization endpoint. ``GET /api/v1/session/oidc/callback`` checks the answer
(orch/directory/oidc/source.py), stores the person through the directory core
(user, ``group:<name>`` memberships, admin, audit) and opens the same console
session as ``POST /api/v1/session``, then redirects to the page the user started
from. Any failure answers with the error contract — as a small HTML page when a
browser asks for HTML — and opens no session; the attempt's cookie is deleted
whatever the outcome, so an attempt is used once.

``GET /api/v1/session/methods`` (public) tells the log-in page whether to show
"Sign in with <provider>".
"""

from __future__ import annotations

import html
import secrets
import uuid

from aiohttp import web

from orch.api.oidc import OidcCallbackQuery, OidcMethod, OidcStartQuery, SessionMethods
from orch.api.openapi import Operation
from orch.directory.identity import DirectoryUnavailable, ExternalIdentity
from orch.directory.oidc import (
    ATTEMPT_SECONDS,
    Attempt,
    BadAttempt,
    CallbackParams,
    OidcError,
    OidcSource,
)
from orch.gateway.bodies import json_response, read_query
from orch.gateway.errors import error_response
from orch.gateway.external import DIRECTORY, record_sign_in
from orch.gateway.keys import POOL, SETTINGS
from orch.gateway.session import SESSION_SECONDS, _secret_hash, set_session_cookie
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["ATTEMPT_COOKIE", "CALLBACK_PATH", "ROUTES", "START_PATH", "oidc_source"]

log = get_logger("orch.gateway.oidc")

START_PATH = "/api/v1/session/oidc/start"
CALLBACK_PATH = "/api/v1/session/oidc/callback"
ATTEMPT_COOKIE = "orch_oidc"
_COOKIE_PATH = "/api/v1/session/oidc/"

_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


class _Failed(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def oidc_source(app: web.Application) -> OidcSource | None:
    """The configured provider: the directory's ``oidc`` source (None: sign-in is off)."""
    source = app[DIRECTORY].get(OidcSource.name)
    return source if isinstance(source, OidcSource) else None


def _source(request: web.Request) -> OidcSource:
    source = oidc_source(request.app)
    if source is None:
        raise _Failed(404, "oidc-not-configured",
                      "OpenID Connect sign-in is not configured here (ORCH_OIDC_ISSUER)")
    return source


def _redirect_uri(request: web.Request) -> str:
    configured = request.app[SETTINGS].oidc_redirect_url
    return configured or f"{request.scheme}://{request.host}{CALLBACK_PATH}"


def _wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


def _failure(request: web.Request, failed: _Failed) -> web.Response:
    """The error contract as JSON, or as a page a person can read when a browser asks."""
    log.info("oidc sign-in failed", reason=failed.code, status=failed.status,
             detail=failed.message[:200], remote=request.remote)
    headers = {"Cache-Control": "no-store"}
    if failed.status == 503:
        headers["Retry-After"] = "5"
    if not _wants_html(request):
        response = error_response(failed.status, failed.code, failed.message,
                                  headers=headers)
    else:
        sentence = failed.message[:1].upper() + failed.message[1:]
        page = (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Sign-in failed · orch</title></head>"
            "<body style=\"font-family: system-ui, sans-serif; max-width: 40rem; "
            "margin: 3rem auto; padding: 0 1rem\">"
            "<h1>Sign-in failed</h1>"
            f"<p id=\"oidc-error\" role=\"alert\" data-code=\"{html.escape(failed.code)}\">"
            f"{html.escape(sentence)}.</p>"
            f"<p><small>{failed.status} · {html.escape(failed.code)}</small></p>"
            "<p><a href=\"/login\">Back to the log-in page</a></p>"
            "</body></html>"
        )
        response = web.Response(status=failed.status, text=page, content_type="text/html",
                                headers={**headers, "Content-Security-Policy": _PAGE_CSP})
    response.del_cookie(ATTEMPT_COOKIE, path=_COOKIE_PATH)
    return response


async def start(request: web.Request) -> web.StreamResponse:
    """Redirect to the provider with a new attempt's state, nonce and PKCE challenge."""
    try:
        source = _source(request)
        query = read_query(request, OidcStartQuery)
        attempt = Attempt.new(query.next)
        try:
            url = await source.authorization_url(attempt, _redirect_uri(request))
        except DirectoryUnavailable as e:
            raise _Failed(503, "directory-unavailable", e.message) from None
    except _Failed as failed:
        return _failure(request, failed)
    response = web.Response(status=302, headers={"Location": url,
                                                 "Cache-Control": "no-store"})
    response.set_cookie(ATTEMPT_COOKIE, attempt.cookie(), max_age=ATTEMPT_SECONDS,
                        path=_COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=request.secure)
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """Check the provider's answer; on success the console session and a redirect."""
    remote = request.remote
    try:
        source = _source(request)
        params = CallbackParams(**{k: request.query.get(k) for k in
                                   ("code", "state", "iss", "error", "error_description")})
        try:
            attempt = Attempt.from_cookie(request.cookies.get(ATTEMPT_COOKIE))
        except BadAttempt as e:
            raise _Failed(400, "oidc-attempt", f"{e}: start the sign-in again") from None
        try:
            identity = await source.complete(attempt, params, _redirect_uri(request))
        except OidcError as e:
            raise _Failed(e.status, e.code, e.message) from None
        except DirectoryUnavailable as e:
            raise _Failed(503, "directory-unavailable", e.message) from None
        secret, name = await _open_session(request, identity)
    except _Failed as failed:
        return _failure(request, failed)
    response = web.Response(status=303, headers={"Location": attempt.next,
                                                 "Cache-Control": "no-store"})
    response.del_cookie(ATTEMPT_COOKIE, path=_COOKIE_PATH)
    set_session_cookie(response, request, secret)
    log.info("login", user=name, source="oidc", groups=list(identity.groups),
             admin=identity.is_admin, remote=remote)
    return response


async def _open_session(request: web.Request, identity: ExternalIdentity) -> tuple[str, str]:
    """Store the person (the directory core: user, groups, audited ``login``) and create
    its console session, in one transaction: (cookie secret, orch user name)."""
    secret = secrets.token_urlsafe(32)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        linked = await conn.fetchrow(Q.directory_user_by_subject, identity.source,
                                     identity.subject)
        if linked is None:
            # preferred_username is neither stable nor unique (OpenID Connect Core §5.7):
            # a provider's user never takes over a local or LDAP account of that name
            same_name = await conn.fetchrow(Q.directory_user_by_name, identity.name)
            if same_name is not None:
                raise _Failed(409, "oidc-name-taken",
                              f"the user name {identity.name!r} belongs to another orch "
                              f"user: an admin must rename or remove one of them")
        user_id = await record_sign_in(conn, identity, request.remote)
        user = await conn.fetchrow(Q.oidc_user_state, user_id)
        if user is None or user["disabled"]:
            raise _Failed(403, "user-disabled",
                          f"the orch user {identity.name!r} is disabled: ask an admin")
        await conn.execute(Q.session_purge_expired)
        await conn.execute(Q.session_create, uuid.uuid4(), _secret_hash(secret),
                           user["user_id"], float(SESSION_SECONDS), request.remote)
    return secret, str(user["name"])


async def methods(request: web.Request) -> web.Response:
    source = oidc_source(request.app)
    oidc = None if source is None else OidcMethod(label=source.label, issuer=source.issuer,
                                                  start=START_PATH)
    return json_response(SessionMethods(password=True, oidc=oidc))


ROUTES = (
    (
        Operation("GET", "/api/v1/session/methods", "session_methods",
                  "How one can sign in here: the password form, and the OpenID provider "
                  "when one is configured", response=SessionMethods, public=True,
                  tags=("session",)),
        methods,
    ),
    (
        Operation("GET", START_PATH, "oidc_start",
                  "Sign in through the OpenID provider: redirects (302) to its authorization "
                  "endpoint (code flow, PKCE S256, state and nonce)",
                  query=OidcStartQuery, status=302, errors=(404, 422, 503), public=True,
                  tags=("session",),
                  description="Sets the short-lived `orch_oidc` cookie that the callback "
                              "needs. 404 when ORCH_OIDC_ISSUER is not set, 503 when the "
                              "provider cannot be reached."),
        start,
    ),
    (
        Operation("GET", CALLBACK_PATH, "oidc_callback",
                  "Where the OpenID provider sends the browser back: checks the answer, sets "
                  "the console's session cookie and redirects (303) to the page the sign-in "
                  "started from", query=OidcCallbackQuery, status=303,
                  errors=(400, 401, 403, 404, 409, 503), public=True, tags=("session",),
                  description="Errors are the error contract, as an HTML page when the "
                              "browser asks for text/html. 400: no or expired attempt, "
                              "state mismatch, code refused; 401: the provider refused, or "
                              "the ID token failed a check (signature, iss, aud, exp, iat, "
                              "nonce); 409: the user name belongs to another orch user; "
                              "503: the provider is unreachable."),
        callback,
    ),
)
