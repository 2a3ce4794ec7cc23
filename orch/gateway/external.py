"""The gateway's side of directory sign-in: which password goes where, and checking a
directory user's membership is fresh on every request.

The sources come from :class:`orch.directory.Directory` (``app[DIRECTORY]``,
built from the settings by :func:`install_directory`; OIDC adds its own).

Log-in (:func:`password_identity`): the bootstrap admin always signs in with its
local password; a user linked to a directory signs in only there; any other name
is looked up in each password source in turn, and the first that knows it checks
the password (a bind as the user). A name no directory knows falls back to a
local user of that name (break-glass and automation accounts), and so does a
local user while the directory is down; otherwise a down directory is a 503 that
names it.

Requests (:func:`check_directory_user`): the principal query returns the age of
the user's stored membership. Within the source's ``refresh_seconds`` the
request goes on with no directory round trip; once it is older the membership is
read again first (:class:`orch.directory.Refresher`), and when the directory
cannot be read the request is refused with a 503 — the user keeps the last known
groups for at most one refresh interval.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from orch.db.bootstrap import ADMIN_USER
from orch.directory import (
    BadCredentials,
    Directory,
    DirectoryUnavailable,
    ExternalIdentity,
    Refresher,
    UnknownUser,
    apply_identity,
    is_due,
    link_user,
)
from orch.gateway.errors import HttpError, Unauthorized
from orch.gateway.keys import POOL, SETTINGS
from orch.logging import get_logger
from orch.sql import Q

__all__ = [
    "DIRECTORY",
    "REFRESHER",
    "ServiceUnavailable",
    "check_directory_user",
    "directory_group_exists",
    "install_directory",
    "known_directory_groups",
    "password_identity",
    "record_sign_in",
    "unavailable",
]

log = get_logger("orch.gateway.external")

DIRECTORY = web.AppKey("directory", Directory)
REFRESHER = web.AppKey("directory_refresher", Refresher)
_GROUPS_STORED = web.AppKey("directory_groups_stored", dict)
"""Source name → the group list last stored (a source returns the same list while cached)."""


class ServiceUnavailable(HttpError):
    status = 503
    code = "directory-unavailable"


def unavailable(exc: DirectoryUnavailable, detail: str = "") -> ServiceUnavailable:
    return ServiceUnavailable(f"{exc.message}{detail}")


def install_directory(app: web.Application, pool: asyncpg.Pool,
                      directory: Directory | None = None) -> None:
    """``app[DIRECTORY]`` from the settings (or the one given), closed with the app."""
    directory = directory if directory is not None else Directory.from_settings(app[SETTINGS])
    app[DIRECTORY] = directory
    app[REFRESHER] = Refresher(pool, directory)
    app[_GROUPS_STORED] = {}

    async def _close(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[DIRECTORY].close()

    app.cleanup_ctx.append(_close)


async def password_identity(
    request: web.Request, name: str, password: str, local: asyncpg.Record | None
) -> ExternalIdentity | None:
    """The directory's person for a log-in, or None when the local password decides.

    ``local`` is the ``directory_user_by_name`` row of ``name`` (None: no such user).
    Raises :class:`BadCredentials` (the one 401 for unknown users and wrong passwords)
    and :class:`ServiceUnavailable` (503) when the directory that must answer cannot.
    """
    sources = request.app[DIRECTORY].password_sources()
    if not sources:
        return None
    linked = local["source"] if local is not None else None
    local_login = (local is not None and linked is None and local["password_hash"] is not None
                   and not local["disabled"])
    if local_login and name == ADMIN_USER:
        return None  # the bootstrap admin: break-glass access whatever the directory says
    down: list[DirectoryUnavailable] = []
    for source in sources:
        if linked is not None and source.name != linked:
            continue
        try:
            identity = await source.authenticate(name, password)
        except UnknownUser:
            continue
        except DirectoryUnavailable as exc:
            down.append(exc)
            continue
        if not identity.active or (local is not None and local["disabled"]):
            raise BadCredentials()
        return identity
    if local_login:
        return None  # no directory knows the name (or none answered): a local user
    if down:
        raise unavailable(down[0], ": directory users cannot sign in now")
    raise BadCredentials()


async def record_sign_in(
    conn: asyncpg.Connection, identity: ExternalIdentity, remote: str | None
) -> str:
    """The orch user of a signed-in directory person, its groups stored and the sign-in
    audited (``login``), in the caller's transaction; returns the user id."""
    user_id = await link_user(conn, identity)
    await apply_identity(conn, user_id, identity, action="login", remote=remote,
                         actor=identity.name)
    return user_id


async def check_directory_user(request: web.Request, row: asyncpg.Record) -> bool:
    """Let a directory user's request through, refreshing its membership when due.

    ``row`` is the principal query's row (``user_id``, ``name``, ``directory``,
    ``directory_active``, ``directory_age``). True when the membership was just
    read again: the caller loads the principal again. 401 when the user was removed
    or disabled in the directory, 503 when a due refresh cannot reach it.
    """
    source_name = row["directory"]
    if source_name is None:
        return False
    name = row["name"]
    source = request.app[DIRECTORY].get(source_name)
    if source is None:
        raise Unauthorized(f"user {name!r} signs in through the directory {source_name!r}, "
                           "which this gateway is not configured for", code="no-directory")
    if not is_due(row["directory_age"], source.refresh_seconds):
        if not row["directory_active"]:
            raise Unauthorized(f"user {name!r} was removed or disabled in {source.description}",
                               code="directory-user-gone")
        return False
    try:
        fresh = await request.app[REFRESHER].ensure_fresh(row["user_id"])
    except DirectoryUnavailable as exc:
        raise unavailable(exc, f": the groups of {name!r} were read "
                               f"{row['directory_age']:.0f} s ago and cannot be refreshed"
                          ) from None
    except LookupError as exc:
        raise Unauthorized(str(exc), code="no-directory") from None
    if not fresh.active:
        raise Unauthorized(f"user {name!r} was removed or disabled in {source.description}",
                           code="directory-user-gone")
    return fresh.refreshed


async def directory_group_exists(request: web.Request, name: str) -> str | None:
    """The name of the source that has the group ``name`` (None: no directory has it).

    503 when no source knows it and one could not be asked."""
    down: list[DirectoryUnavailable] = []
    for source in request.app[DIRECTORY]:
        try:
            if await source.group_exists(name):
                return source.name
        except DirectoryUnavailable as exc:
            down.append(exc)
    if down:
        raise unavailable(down[0], f": cannot tell whether it has the group {name!r}")
    return None


async def known_directory_groups(request: web.Request) -> None:
    """Every directory group made known to orch (``groups`` rows marked with the source),
    so ``GET /api/v1/groups`` lists them beside the local ones. A directory that cannot
    be asked now only leaves its groups seen so far."""
    for source in request.app[DIRECTORY]:
        try:
            names = await source.list_groups()
        except DirectoryUnavailable as exc:
            log.warning("directory groups not listed", directory=source.description,
                        reason=exc.reason)
            continue
        stored = request.app[_GROUPS_STORED]
        if names and stored.get(source.name) is not names:
            await request.app[POOL].execute(Q.directory_groups_ensure, names, source.name)
            stored[source.name] = names
