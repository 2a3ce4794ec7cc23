"""Bodies of the console's log-in and of ``GET /api/v1/me``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from orch.api.base import Id, Request, Response


class Login(Request, kw_only=True):
    """A user's name and password (``POST /api/v1/session``)."""

    name: str
    password: str


class Grant(Response, kw_only=True):
    """Rights held on a runbook or folder path (folders pass them on to what is below)."""

    target: str
    rights: list[str]


class Me(Response, kw_only=True):
    """Who the caller is, and what it may do: the console hides what it may not use."""

    user_id: Id
    name: str
    groups: list[str]
    is_admin: bool
    """Member of ``admins``: every right everywhere."""
    auth: Literal["session", "token"]
    """How this request was authenticated."""
    csrf_token: str | None
    """With a session: the value every write must send as ``X-CSRF-Token``; else null."""
    grants: list[Grant]
    """The caller's own grants and its groups' (merged per target)."""
    directory: DirectoryMembership | None = None
    """A user from a company directory: the groups it gave and when; null for a local user."""


class DirectoryMembership(Response, kw_only=True):
    """What a company directory said about the caller at its last read."""

    source: str
    """``ldap`` or ``oidc``."""
    groups: list[str]
    """The directory's groups of the caller; each is the principal ``group:<name>``."""
    refreshed_at: datetime
    """When they were read (again at most every ``ORCH_LDAP_REFRESH_SECONDS``)."""
