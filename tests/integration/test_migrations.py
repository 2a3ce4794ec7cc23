"""Migrations: idempotent, safe when run concurrently, and equal to schema.sql."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import asyncpg

from orch.db.migrate import migrate, migrations, schema_version

ROOT = Path(__file__).resolve().parents[2]


def _dump(pg_bin: Path, dsn: str) -> str:
    out = subprocess.run(
        [str(pg_bin / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", dsn],
        check=True, capture_output=True, text=True,
    ).stdout
    keep = [
        line for line in out.splitlines()
        if line.strip() and not line.startswith("--") and not re.match(r"\\(un)?restrict ", line)
        # some PostgreSQL builds stamp columns with a per-database attribute option
        and "pg_attver=" not in line
    ]
    return "\n".join(keep)


async def test_migrate_is_idempotent(empty_dsn: str) -> None:
    latest = len(migrations())
    assert await migrate(empty_dsn) == latest
    assert await migrate(empty_dsn) == latest
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await schema_version(conn) == latest
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, latest + 1))
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_once(empty_dsn: str) -> None:
    results = await asyncio.gather(*(migrate(empty_dsn) for _ in range(4)))
    assert set(results) == {len(migrations())}


async def test_migrations_give_exactly_schema_sql(
    empty_dsn: str, pg_server, pg_bin: Path
) -> None:
    await migrate(empty_dsn)
    other = f"orch_schema_{id(empty_dsn) & 0xFFFFFF:x}"
    admin = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{other}" TEMPLATE template0')
    finally:
        await admin.close()
    try:
        direct = await asyncpg.connect(pg_server.dsn_for(other))
        try:
            await direct.execute((ROOT / "schema.sql").read_text())
        finally:
            await direct.close()
        assert _dump(pg_bin, empty_dsn) == _dump(pg_bin, pg_server.dsn_for(other))
    finally:
        admin = await asyncpg.connect(pg_server.admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
        finally:
            await admin.close()


async def test_template_database_is_migrated(conn) -> None:
    assert await schema_version(conn) == len(migrations())
    assert await conn.fetchval("SELECT path FROM folders WHERE parent_id IS NULL") == "/"
