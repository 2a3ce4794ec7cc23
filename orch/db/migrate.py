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
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["Migration", "migrate", "migrations", "schema_version"]

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


async def migrate(dsn: str | asyncpg.Connection) -> int:
    """Apply pending migrations; return the schema version now in place."""
    conn = await connect(dsn) if isinstance(dsn, str) else dsn
    try:
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
