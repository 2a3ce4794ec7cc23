"""Database layer pieces: bootstrap, settings, job parameters, takeover of a dead server's work."""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from pathlib import Path

import asyncpg
import pytest

from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin, hash_token, read_credentials
from orch.db.connect import connect
from orch.errors import ConfigError
from tests.integration.helpers import (
    check_in,
    compare,
    eventually,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait_job,
)


async def test_bootstrap_creates_one_admin_once(dsn: str, tmp_path: Path) -> None:
    conns = [await connect(dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(
            bootstrap_admin(c, tmp_path, token="orch_fixed", password="pw") for c in conns))
    finally:
        for c in conns:
            await c.close()
    made = [r for r in results if r is not None]
    assert len(made) == 1 and made[0].token == "orch_fixed" and made[0].password == "pw"
    creds = read_credentials(tmp_path)
    assert creds is not None and creds.user == "admin" and creds.token == "orch_fixed"
    mode = stat.S_IMODE(os.stat(tmp_path / "credentials.json").st_mode)
    assert mode == 0o600
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT u.name, u.password_hash, g.name AS grp FROM users u"
            " JOIN group_members m ON m.user_id = u.id JOIN groups g ON g.id = m.group_id")
        token_hash = await conn.fetchval("SELECT token_hash FROM tokens")
    finally:
        await conn.close()
    assert row["name"] == "admin" and row["grp"] == "admins"
    assert row["password_hash"].startswith("$argon2")
    assert token_hash == hash_token("orch_fixed")


async def test_bootstrap_generates_secrets(conn: asyncpg.Connection, tmp_path: Path) -> None:
    creds = await bootstrap_admin(conn, tmp_path)
    assert creds is not None and creds.token.startswith("orch_") and len(creds.password) >= 16
    assert await bootstrap_admin(conn, tmp_path) is None


def test_settings_from_env() -> None:
    s = Settings.from_env({"ORCH_DATABASE_URL": "postgresql://x/y", "ORCH_CAPACITY": "7",
                           "ORCH_POLL_SECONDS": "0.25", "ORCH_DATA_DIR": "/tmp/d"},
                          server_name="srv")
    assert (s.database_url, s.capacity, s.poll_seconds, s.server_name) == (
        "postgresql://x/y", 7, 0.25, "srv")
    assert s.data_dir == Path("/tmp/d")
    defaults = Settings.from_env({})
    assert defaults.database_url is None and defaults.data_dir == Path(".orch")
    assert (defaults.capacity, defaults.heartbeat_seconds, defaults.poll_seconds,
            defaults.server_timeout_seconds, defaults.shutdown_grace_seconds) == (
        1000, 1.0, 5.0, 3.0, 30.0)
    with pytest.raises(ConfigError):
        Settings.from_env({"ORCH_CAPACITY": "lots"})
    with pytest.raises(ConfigError):
        Settings.from_env({"ORCH_CAPACITY": "0"})


async def test_job_parameters_are_checked_and_canonical(pool: asyncpg.Pool) -> None:
    from orch.document.validate import DocumentInvalid

    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Typed", [
            {"id": "start", "type": "initialize_data", "properties": {"parameters": [
                {"name": "N", "type": "integer"}, {"name": "Flag", "type": "boolean",
                                                   "default": False}]}},
            compare("a")]))
        job = await start_job(conn, rb, {"N": 5})
        assert job.parameters == {"N": "5", "Flag": "false"}
        assert job.status == "queued" and job.runbook_path == "/Tests/Typed"
        with pytest.raises(DocumentInvalid):
            await start_job(conn, rb, {"N": "five"})
        with pytest.raises(DocumentInvalid):
            await start_job(conn, rb, {"N": 1, "Unknown": "x"})


async def test_instances_of_a_dead_server_are_taken_over(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Orphan", [start(), compare("a")]))
        job = await start_job(conn, rb)
        await conn.execute(
            "INSERT INTO servers (name, status, capacity, activity_types)"
            " SELECT 'dead', 'up', 10, array_agg(DISTINCT t)"
            "   FROM runbook_versions, unnest(activity_types) AS t")
        claimed = await conn.fetch("SELECT * FROM orch_claim_jobs('dead', 10, 0, 30)")
        assert len(claimed) == 1
        iid = claimed[0]["instance_id"]
        # then it dies: its heartbeat lapses
        await conn.execute(
            "UPDATE servers SET heartbeat_at = now() - interval '1 hour' WHERE name = 'dead'")
    async with running_server(dsn, server_name="alive"):
        done = await wait_job(pool, job.id)
    assert done.status == "success" and done.server == "alive"
    async with pool.acquire() as conn:
        inst = await conn.fetchrow("SELECT server, epoch FROM instances WHERE id = $1", iid)
        dead = await conn.fetchval("SELECT status FROM servers WHERE name = 'dead'")
        taken = await conn.fetchval(
            "SELECT data->>'taken_over_from' FROM events WHERE instance_id = $1"
            " AND data ? 'taken_over_from'", iid)
        down_events = await conn.fetchval(
            "SELECT count(*) FROM events WHERE kind = 'server' AND server = 'dead'"
            " AND status = 'down'")
    assert (inst["server"], inst["epoch"]) == ("alive", 2)
    assert dead == "down" and taken == "dead" and down_events == 1


async def test_no_server_waiting_reason(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Nobody", [start(), compare("a")]))
        await conn.execute(
            "INSERT INTO runbook_servers (runbook_id, position, server_name)"
            " VALUES ($1, 0, 'elsewhere')", uuid.UUID(rb.id))
        job = await start_job(conn, rb)
    async with running_server(dsn, server_name="here"):
        async def reason() -> str | None:
            async with pool.acquire() as conn:
                return await conn.fetchval("SELECT waiting_reason FROM jobs WHERE id = $1",
                                           uuid.UUID(job.id))

        assert await eventually(reason) == "no assigned runbook server is available"
