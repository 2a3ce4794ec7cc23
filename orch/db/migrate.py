"""Migrations: ordered ``orch/db/migrations/NNNN_name.sql`` files, each applied once.

Several processes may start at once (``orch up`` and servers): a session
advisory lock queues them, so each migration runs exactly once and the late
comers find nothing to do. Every migration runs in its own transaction
together with the row recording it.
"""

from __future__ import annotations

import re
from importlib import resources

import asyncpg
import msgspec

from orch.db.connect import connect
from orch.errors import OrchError
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["Migration", "MigrationRefused", "connect_primary", "migrate", "migrations",
           "schema_version"]

log = get_logger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with orch, in order (gaps and duplicates are bugs)."""
    out: list[Migration] = []
    folder = resources.files("orch.db") / "migrations"
    for f in folder.iterdir():
        m = _FILE.match(f.name)
        if m is None:
            continue
        out.append(Migration(int(m.group(1)), m.group(2), f.read_text(encoding="utf-8")))
    out.sort(key=lambda m: m.version)
    for expected, mig in enumerate(out, start=1):
        if mig.version != expected:
            raise RuntimeError(f"migration numbering broken at {mig.version:04d}_{mig.name}")
    return out


class MigrationRefused(OrchError):
    """Migrations run on the primary only."""


STANDBY = ("the database server is a standby in recovery (pg_is_in_recovery() is true) and "
           "cannot be migrated: run migrations against the primary, e.g. a multi-host URL "
           "with target_session_attrs=read-write")


async def connect_primary(dsn: str) -> asyncpg.Connection:
    """A session on the writable primary, or ``MigrationRefused`` when the URL has none."""
    try:
        return await connect(dsn)  # a writable session (see orch.db.connect.session_options)
    except asyncpg.TargetServerAttributeNotMatched as exc:
        raise MigrationRefused(
            f"no host of the database URL is a writable primary ({exc}); {STANDBY}"
        ) from exc


async def migrate(dsn: str | asyncpg.Connection) -> int:
    """Apply pending migrations; return the schema version now in place.

    Refused (``MigrationRefused``, nothing changed) on a standby: its sessions
    are read-only and a migration would fail half-way through its first DDL.
    """
    conn = await connect_primary(dsn) if isinstance(dsn, str) else dsn
    try:
        if await conn.fetchval(Q.migrate_in_recovery):
            raise MigrationRefused(STANDBY)
        await conn.execute(Q.migrate_lock)
        try:
            await conn.execute(Q.migrate_create_table)
            applied = {r[0] for r in await conn.fetch(Q.migrate_applied)}
            for mig in migrations():
                if mig.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(mig.sql)
                    await conn.execute(Q.migrate_record, mig.version, mig.name)
                log.info("migration applied", version=mig.version, name=mig.name)
            return int(await conn.fetchval(Q.schema_version))
        finally:
            await conn.execute(Q.migrate_unlock)
    finally:
        if isinstance(dsn, str):
            await conn.close()


async def schema_version(conn: asyncpg.Connection) -> int:
    """The applied schema version (0 for an empty database)."""
    exists = await conn.fetchval(Q.migrate_table_exists)
    return int(await conn.fetchval(Q.schema_version)) if exists else 0
