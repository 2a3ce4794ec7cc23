"""Integration packs in the database: registration, what servers have, deployment.

A pack version is registered once (``orch ip install``) with the JSON Schemas
of its activity types. Runbook servers report the packs they loaded, with
versions and qualified type names (``servers.packs``, ``pack_versions``,
``activity_types``); a server claims only jobs whose version's
``runbook_versions.activity_types`` it has (capability matching).

Interpreters are capabilities too: a server reports ``interpreter:NAME`` for
each of python3, bash, sh and pwsh it finds on its PATH, and a version needs
``interpreter:NAME`` for each ``run_script`` (enabled, with a literal
``interpreter``) it holds. The claim matches both the same way, so a job
whose runbook needs pwsh waits on servers without it, and says so.
"""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from orch.errors import NotFound
from orch.sql import Q

if TYPE_CHECKING:
    from orch.document.graph import CompiledRunbook
    from orch.sdk.registry import Registry

__all__ = [
    "PackRecord",
    "PackRow",
    "ServerReport",
    "assign_runbook_servers",
    "deploy_server",
    "list_packs",
    "register_pack",
    "report_packs",
    "server_report",
    "types_used",
]


class TypeRecord(msgspec.Struct, kw_only=True):
    name: str
    display_name: str = ""
    description: str = ""
    category: str = ""
    rerunnable: bool = False
    monitor: bool = False
    default_timeout: float | None = None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class PackRecord(msgspec.Struct, kw_only=True):
    """One pack of an installed distribution, as registered (``orch.packs.describe``)."""

    name: str
    version: str
    distribution: str
    types: list[TypeRecord]


class PackRow(msgspec.Struct, kw_only=True):
    """A pack version as ``orch ip list`` shows it."""

    name: str
    version: str
    distribution: str | None
    registered_at: datetime | None
    registered: bool
    types: list[str]
    servers: list[str]
    """Servers that reported this version (whatever their status)."""
    servers_up: list[str]


INTERPRETERS = ("python3", "bash", "sh", "pwsh")
"""What ``core:run_script`` can run (its ``interpreter`` property)."""
INTERPRETER = "interpreter:"
RUN_SCRIPT = "core:run_script"


def interpreters_here() -> list[str]:
    """``interpreter:NAME`` for each interpreter on this machine's PATH (python3: always,
    run_script falls back to the Python running orch)."""
    return [f"{INTERPRETER}{name}" for name in INTERPRETERS
            if name == "python3" or shutil.which(name) is not None]  # fmt: skip


class ServerReport(msgspec.Struct, kw_only=True, frozen=True):
    packs: list[str]
    versions: dict[str, str]
    types: list[str]


def server_report(registry: Registry) -> ServerReport:
    """What a runbook server reports: its packs, their versions, its qualified types."""
    packs = sorted(registry.packs())
    versions = {p: registry.versions[p][1] for p in packs if p in registry.versions}
    types = sorted([*(t.qualified_name for t in registry), *interpreters_here()])
    return ServerReport(packs=packs, versions=versions, types=types)


async def report_packs(conn: asyncpg.Connection, server: str, report: ServerReport) -> None:
    await conn.execute(Q.report_server_packs, server, report.packs, report.versions, report.types)


def types_used(compiled: CompiledRunbook) -> list[str]:
    """The qualified activity types a runbook version needs (capability matching), and the
    interpreters its enabled run_script activities name."""
    needed = {a.type.qualified_name for a in compiled.activities.values()}
    for a in compiled.activities.values():
        if a.type.qualified_name != RUN_SCRIPT or not compiled.runbook.activities[a.index].enabled:
            continue
        tree = a.properties.get("interpreter")
        name = "bash" if tree is None else tree.literal_value()
        if isinstance(name, str) and name in INTERPRETERS:
            needed.add(f"{INTERPRETER}{name}")
    return sorted(needed)


async def register_pack(
    conn: asyncpg.Connection, pack: PackRecord, *, registered_by: str | None = None
) -> None:
    """Register a pack version and its types; the audit row (who, and from where: this
    host) goes in the caller's transaction."""
    types = pack.types
    await conn.execute(
        Q.pack_register,
        pack.name,
        pack.version,
        pack.distribution,
        registered_by,
        [t.name for t in types],
        [t.display_name for t in types],
        [t.description for t in types],
        [t.category for t in types],
        [t.rerunnable for t in types],
        [t.monitor for t in types],
        [t.input_schema for t in types],
        [t.output_schema for t in types],
    )
    await conn.execute(Q.security_audit, registered_by, "pack installed",
                       f"pack:{pack.name}", {"version": pack.version,
                                             "distribution": pack.distribution,
                                             "types": [t.name for t in types]},
                       socket.gethostname())


async def list_packs(conn: asyncpg.Connection) -> list[PackRow]:
    return [msgspec.convert(dict(r), PackRow) for r in await conn.fetch(Q.packs_list)]


async def deploy_server(conn: asyncpg.Connection, name: str, capacity: int) -> dict[str, Any]:
    """Register a runbook server ahead of its first start (status ``stopped``)."""
    row = await conn.fetchrow(Q.deploy_server, name, capacity)
    assert row is not None
    return dict(row)


async def assign_runbook_servers(
    conn: asyncpg.Connection,
    runbook_id: str,
    server: str,
    *,
    primary: bool,
) -> list[str]:
    """Make ``server`` the runbook's primary (first) or its last standby; return the list.

    The rest of the assignment keeps its order; the server moves if it was
    already in it.
    """
    rid = uuid.UUID(runbook_id)
    async with conn.transaction():
        if await conn.fetchval(Q.deploy_lock_runbook, rid) is None:
            raise NotFound(f"no runbook {runbook_id}")
        current = [r[0] for r in await conn.fetch(Q.assignment_own_runbook, rid)]
        rest = [s for s in current if s != server]
        order = [server, *rest] if primary else [*rest, server]
        await _write_assignment(conn, rid, order)
    return order


async def _write_assignment(conn: asyncpg.Connection, rid: uuid.UUID, order: Sequence[str]) -> None:
    await conn.execute(Q.assignment_clear_runbook, rid)
    for position, name in enumerate(order):
        await conn.execute(Q.deploy_add_runbook_server, rid, position, name)


def pack_records(registry: Registry, names: Iterable[str] | None = None) -> list[PackRecord]:
    """Records of the registry's packs (all, or those named) for :func:`register_pack`."""
    from orch.sdk.schema import type_record

    packs = registry.packs()
    wanted = sorted(packs) if names is None else list(names)
    out: list[PackRecord] = []
    for name in wanted:
        if name not in packs:
            raise NotFound(f"no installed pack named {name!r}")
        dist, version = registry.versions.get(name, (name, "0"))
        out.append(PackRecord(
            name=name, version=version, distribution=dist,
            types=[msgspec.convert(type_record(t), TypeRecord)
                   for t in sorted(packs[name], key=lambda t: t.name)],
        ))  # fmt: skip
    return out
