"""A directory's people and groups in orch's own tables (the cache every gateway shares).

A directory user is an ordinary ``users`` row (without a password) linked by an
``external_identities`` row to its source and subject. The groups the
directory gives become ``groups`` rows marked with the source (unless a local
group of that name exists: it is the same principal ``group:<name>``) and
``group_members`` rows marked the same way, so every query that reads grants or
``admins`` works unchanged. :func:`apply_identity` replaces only the marked
memberships; memberships added by hand stay. Each sign-in and refresh is
written to the audit log in the same transaction.
"""

from __future__ import annotations

import uuid

import asyncpg

from orch.directory.identity import ExternalIdentity
from orch.sql import Q

__all__ = ["ADMINS", "apply_identity", "deactivate", "link_user"]

ADMINS = "admins"
"""orch's built-in admin group: given only through a source's admin groups, never
because a directory happens to have a group of that name."""


async def link_user(conn: asyncpg.Connection, identity: ExternalIdentity) -> str:
    """The id of the orch user for ``identity``: the one linked to its subject, else the
    user of the same name (the directory takes it over), else a new one."""
    row = await conn.fetchrow(Q.directory_user_by_subject, identity.source, identity.subject)
    if row is not None:
        return str(row["user_id"])
    row = await conn.fetchrow(Q.directory_user_by_name, identity.name)
    if row is not None:
        return str(row["user_id"])
    created = await conn.fetchval(Q.directory_user_insert, uuid.uuid4(), identity.name)
    if created is None:  # created by a concurrent sign-in
        created = (await conn.fetchrow(Q.directory_user_by_name, identity.name))["user_id"]
    return str(created)


def _memberships(identity: ExternalIdentity) -> list[str]:
    names = sorted({g for g in identity.groups if g != ADMINS})
    return [*names, ADMINS] if identity.is_admin else names


async def apply_identity(
    conn: asyncpg.Connection,
    user_id: str,
    identity: ExternalIdentity,
    *,
    action: str,
    remote: str | None = None,
    actor: str | None = None,
) -> dict[str, object]:
    """Store what the directory said about ``identity`` (in the caller's transaction) and
    audit it as ``action``; returns the audit data (groups, added, removed, active)."""
    previous = await conn.fetchrow(Q.directory_identity_lock, user_id)
    before = set(previous["groups"]) if previous is not None else set()
    wanted = _memberships(identity) if identity.active else []
    groups = sorted(set(identity.groups))
    if wanted:
        await conn.execute(Q.directory_groups_ensure, groups, identity.source)
    await conn.execute(Q.directory_memberships_set, user_id, identity.source, wanted)
    if not identity.active:
        await conn.execute(Q.directory_sessions_end, user_id)
    await conn.execute(Q.directory_identity_upsert, user_id, identity.source, identity.subject,
                       groups, identity.active)
    data: dict[str, object] = {
        "directory": identity.source, "groups": groups, "admin": identity.is_admin,
        "active": identity.active, "added": sorted(set(groups) - before),
        "removed": sorted(before - set(groups)),
    }
    await conn.execute(Q.security_audit, actor, action, f"user:{identity.name}", data, remote)
    return data


async def deactivate(
    conn: asyncpg.Connection, user_id: str, source: str, subject: str, name: str,
    *, action: str = "directory user removed",
) -> None:
    """The directory no longer has the user: no memberships, no sessions, no access
    (its tokens are refused while the identity is inactive)."""
    await apply_identity(
        conn, user_id,
        ExternalIdentity(source=source, subject=subject, name=name, active=False),
        action=action,
    )
