"""Bodies of the permission routes: users, groups, grants, tokens, variables."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from orch.api.base import Cursor, Id, Limit, Query, Request, Response

Name = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$",
                 description="Letters, digits and `_ . @ -`."),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1000)]
RightName = Literal["view", "start", "stop", "design", "deploy", "manage_permissions"]
PrincipalRef = Annotated[
    str,
    msgspec.Meta(pattern=r"^(user|group):[A-Za-z0-9_.@-]{1,100}$",
                 description="`user:NAME` or `group:NAME`."),
]
TargetPath = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=2000, pattern=r"^/",
                 description="A runbook or folder path; `/` for the system rights."),
]


class CreateUser(Request, kw_only=True):
    name: Name
    password: Password | None = None
    """Without one the user signs in with tokens only."""
    groups: list[Name] = []


class UpdateUser(Request, kw_only=True):
    password: Password | None = None
    disabled: bool | None = None
    """A disabled user's tokens and sessions stop working at once."""


class User(Response, kw_only=True):
    id: Id
    name: str
    disabled: bool
    has_password: bool
    groups: list[str]
    created_at: datetime


class UserList(Response, kw_only=True):
    items: list[User]
    next: str | None = None


class CreateGroup(Request, kw_only=True):
    name: Name


class Group(Response, kw_only=True):
    id: Id
    name: str
    members: list[str]
    created_at: datetime
    source: str | None = None
    """Null for a local group; else the company directory it comes from (``ldap``,
    ``oidc``): its members there hold its grants without being added here."""


class GroupList(Response, kw_only=True):
    items: list[Group]
    next: str | None = None


class CreateGrant(Request, kw_only=True):
    principal: PrincipalRef
    target: TargetPath
    rights: Annotated[list[RightName], msgspec.Meta(min_length=1)]


class GrantRecord(Response, kw_only=True):
    id: Id
    principal: str
    """``user:NAME`` or ``group:NAME``."""
    target: str
    rights: list[str]
    created_at: datetime


class GrantList(Response, kw_only=True):
    items: list[GrantRecord]
    next: str | None = None


class PageQuery(Query, kw_only=True):
    cursor: Cursor | None = None
    limit: Limit = 100


class ListGrantsQuery(PageQuery, kw_only=True):
    principal: PrincipalRef | None = None
    target: TargetPath | None = None


class RevokeGrantQuery(Query, kw_only=True):
    rights: str | None = None
    """Comma-separated rights to take away; all of them (the grant goes) by default."""


class CreateToken(Request, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    expires_at: datetime | None = None


class TokenInfo(Response, kw_only=True):
    id: Id
    user: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewToken(TokenInfo, kw_only=True):
    token: str
    """The secret: shown this once, stored only as its sha256."""


class TokenList(Response, kw_only=True):
    items: list[TokenInfo]
    next: str | None = None


class ListTokensQuery(PageQuery, kw_only=True):
    user: Name | None = None
    """Another user's tokens (admins); default the caller's own."""


class PutVariable(Request, kw_only=True):
    value: Annotated[str, msgspec.Meta(max_length=1_000_000)]
    encrypted: bool = False
    """Stored encrypted, decrypted only by a runbook server for the activity using it,
    and shown as ``********`` everywhere else."""


class Variable(Response, kw_only=True):
    name: str
    value: str
    """``********`` for an encrypted variable."""
    encrypted: bool
    updated_at: datetime


class VariableList(Response, kw_only=True):
    items: list[Variable]
    next: str | None = None


class PurgeRequest(Request, kw_only=True):
    older_than_seconds: Annotated[float, msgspec.Meta(gt=0)]


class PurgeResult(Response, kw_only=True):
    jobs: int
    events: int
    audit: int
    instance_log: int
