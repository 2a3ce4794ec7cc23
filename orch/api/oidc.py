"""Bodies and queries of the OpenID Connect sign-in routes and of the log-in page's options."""

from __future__ import annotations

from orch.api.base import Query, Response


class OidcMethod(Response, kw_only=True):
    """Sign-in through an OpenID provider: the console shows "Sign in with <label>"."""

    label: str
    """``ORCH_OIDC_LABEL``, else the issuer's host name."""
    issuer: str
    start: str
    """Where the browser goes to sign in (add ``?next=<console path>``)."""


class SessionMethods(Response, kw_only=True):
    """How one can sign in here (``GET /api/v1/session/methods``, public)."""

    password: bool
    """The user name and password form (local users and LDAP directory users)."""
    oidc: OidcMethod | None
    """Null when ``ORCH_OIDC_ISSUER`` is not set."""


class OidcStartQuery(Query, kw_only=True):
    next: str | None = None
    """The console page to open once signed in (a path on this origin; else ``/``)."""


class OidcCallbackQuery(Query, kw_only=True):
    """What the provider sends back (described for the OpenAPI document; other parameters a
    provider adds are ignored)."""

    code: str | None = None
    state: str | None = None
    iss: str | None = None
    """RFC 9207: when present it must be the configured issuer."""
    error: str | None = None
    error_description: str | None = None
