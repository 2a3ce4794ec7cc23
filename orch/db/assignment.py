"""Runbook server assignment: an ordered list per runbook, or per folder (inherited).

The list is the primary server first, then the standbys in order. A runbook's
own list wins; without one, the nearest folder above it that has a list gives
it (the ``runbook_assignment`` view is the one definition, used by claims,
takeovers and waiting reasons alike); with neither, any server may run it.
Only registered servers may be named, so a typo cannot strand a runbook.
"""

from __future__ import annotations

import uuid

import asyncpg

from orch.api.failover import FolderServers, RunbookServers
from orch.document.model import normalize_folder
from orch.errors import NotFound, OrchError
from orch.sql import Q

__all__ = [
    "AssignmentInvalid",
    "folder_servers",
    "runbook_servers",
    "set_folder_servers",
    "set_runbook_servers",
]


class AssignmentInvalid(OrchError):
    """The server list is invalid."""


async def _check(conn: asyncpg.Connection, servers: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(servers):
        if not name.strip():
            raise AssignmentInvalid("a server name must not be blank", path=f"$.servers[{i}]")
        if name in seen:
            raise AssignmentInvalid(f"server {name!r} is named twice", path=f"$.servers[{i}]")
        seen.add(name)
    unknown = [r[0] for r in await conn.fetch(Q.assignment_unknown_servers, servers)]
    if unknown:
        i = servers.index(unknown[0])
        raise AssignmentInvalid(f"no runbook server named {unknown[0]!r}", path=f"$.servers[{i}]")


async def set_runbook_servers(
    conn: asyncpg.Connection, runbook_id: uuid.UUID, servers: list[str], *, actor: str | None
) -> RunbookServers:
    """Replace the runbook's own list (empty: remove it); audited."""
    async with conn.transaction():
        row = await conn.fetchrow(Q.assignment_lock_runbook, runbook_id)
        if row is None:
            raise NotFound(f"no runbook {runbook_id}")
        await _check(conn, servers)
        await conn.execute(Q.assignment_clear_runbook, runbook_id)
        if servers:
            await conn.execute(Q.assignment_set_runbook, runbook_id, servers)
        await conn.execute(Q.assignment_audit, actor, "runbook servers", row["path"],
                           {"servers": servers})
    result = await runbook_servers(conn, runbook_id)
    assert result is not None
    return result


async def runbook_servers(conn: asyncpg.Connection, runbook_id: uuid.UUID) -> RunbookServers | None:
    """The runbook's own list and the one in force (None: no such runbook)."""
    path = await conn.fetchval(Q.assignment_runbook_path, runbook_id)
    if path is None:
        return None
    own = [r[0] for r in await conn.fetch(Q.assignment_own_runbook, runbook_id)]
    rows = await conn.fetch(Q.assignment_of_runbook, runbook_id)
    source = rows[0]["source"] if rows else None
    return RunbookServers(
        runbook_id=str(runbook_id),
        path=path,
        servers=own,
        effective=[r["server_name"] for r in rows],
        inherited_from=source if source not in (None, "runbook") else None,
    )


async def set_folder_servers(
    conn: asyncpg.Connection, path: str, servers: list[str], *, actor: str | None
) -> FolderServers:
    """Replace the folder's own list (empty: remove it); audited."""
    path = normalize_folder(path)
    async with conn.transaction():
        folder_id = await conn.fetchval(Q.assignment_lock_folder, path)
        if folder_id is None:
            raise NotFound(f"no folder {path}")
        await _check(conn, servers)
        await conn.execute(Q.assignment_clear_folder, folder_id)
        if servers:
            await conn.execute(Q.assignment_set_folder, folder_id, servers)
        await conn.execute(Q.assignment_audit, actor, "folder servers", path,
                           {"servers": servers})
    result = await folder_servers(conn, path)
    assert result is not None
    return result


async def folder_servers(conn: asyncpg.Connection, path: str) -> FolderServers | None:
    """The folder's own list and the one its runbooks inherit (None: no such folder)."""
    path = normalize_folder(path)
    if await conn.fetchval(Q.assignment_folder_id, path) is None:
        return None
    groups: dict[str, list[str]] = {}
    for r in await conn.fetch(Q.assignment_of_folder, path):
        groups.setdefault(r["path"], []).append(r["server_name"])
    nearest = next(iter(groups), None)
    return FolderServers(
        path=path,
        servers=groups.get(path, []),
        effective=groups[nearest] if nearest is not None else [],
        inherited_from=nearest if nearest not in (None, path) else None,
    )
