"""Retention: old finished jobs go with everything under them, old events, log lines and
audit entries go; running jobs and recent rows stay; one purge at a time."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from orch.cli.main import _register, cli
from orch.config import Settings
from orch.db.purge import AutoPurge, PurgeBusy, count, purge
from orch.sql import Q
from tests.integration.gateway.conftest import Api, document

OLD = timedelta(days=40)
_register()


async def _job(api: Api, path: str, *, status: str, age: timedelta,
               parent: str | None = None) -> tuple[str, str]:
    """A job in ``status`` started ``age`` ago with one instance, a log line and events."""
    created = await api.client.start_job(path, {"Name": "x"})
    instance = uuid.uuid4()
    ended = status not in ("running", "queued")
    async with api.pool.acquire() as conn, conn.transaction():
        at = await conn.fetchval("SELECT now() - $1::interval", age)
        await conn.execute("INSERT INTO instances (id, job_id, status, started_at, ended_at) "
                           "VALUES ($1, $2::uuid, $3, $4::timestamptz, "
                           "CASE WHEN $5 THEN $4::timestamptz END)",
                           instance, created.id, status, at, ended)
        await conn.execute("UPDATE jobs SET status = $2, instance_id = $3, "
                           "created_at = $4::timestamptz, "
                           "ended_at = CASE WHEN $5 THEN $4::timestamptz END, "
                           "parent_job_id = $6::uuid "
                           "WHERE id = $1::uuid", created.id, status, instance, at, ended,
                           parent)
        await conn.execute("UPDATE events SET at = $2 WHERE job_id = $1::uuid", created.id, at)
        await conn.execute("INSERT INTO instance_log (instance_id, stream, at, text) "
                           "VALUES ($1, 'log', $2, 'line')", instance, at)
    return created.id, str(instance)


async def _exists(api: Api, table: str, column: str, value: str) -> int:
    async with api.pool.acquire() as conn:
        return await conn.fetchval(  # table/column are fixed literals of this test
            f"SELECT count(*) FROM {table} WHERE {column} = $1::uuid", value)


async def test_purge_removes_old_finished_work_and_keeps_the_rest(api: Api) -> None:
    rb = await api.client.check_in(document(name="P", folder="/Purge"))
    old_done, old_inst = await _job(api, rb.path, status="success", age=OLD)
    old_running, run_inst = await _job(api, rb.path, status="running", age=OLD)
    recent, recent_inst = await _job(api, rb.path, status="failed", age=timedelta(days=1))
    # an old finished parent of a recent child: the parent goes, the child stays unlinked
    parent, _ = await _job(api, rb.path, status="success", age=OLD)
    child, _ = await _job(api, rb.path, status="success", age=timedelta(hours=1), parent=parent)
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO events (kind, at, server, status) VALUES "
                           "('server', now() - interval '40 days', 'old', 'up'), "
                           "('server', now(), 'new', 'up')")
        await conn.execute("INSERT INTO audit (at, actor, action) VALUES "
                           "(now() - interval '400 days', 'x', 'ancient'), "
                           "(now() - interval '40 days', 'x', 'oldish')")
        now = await conn.fetchval("SELECT now()")
        cutoff, audit_cutoff = now - timedelta(days=30), now - timedelta(days=365)
        planned = await count(conn, cutoff=cutoff, audit_cutoff=audit_cutoff)
        assert (planned.jobs, planned.instance_log, planned.audit) == (2, 2, 1)
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 5  # dry run: nothing gone
        seen: list[tuple[str, int]] = []
        done = await purge(conn, cutoff=cutoff, audit_cutoff=audit_cutoff, batch=1,
                           progress=lambda what, n: seen.append((what, n)))
    assert done == planned
    assert ("jobs", 2) in seen and ("jobs", 1) in seen  # batches of one, with progress
    assert await _exists(api, "jobs", "id", old_done) == 0
    assert await _exists(api, "jobs", "id", parent) == 0
    assert await _exists(api, "instances", "id", old_inst) == 0
    assert await _exists(api, "events", "job_id", old_done) == 0
    assert await _exists(api, "instance_log", "instance_id", old_inst) == 0
    for kept in (old_running, recent, child):
        assert await _exists(api, "jobs", "id", kept) == 1
        assert await _exists(api, "events", "job_id", kept) > 0
    for kept in (run_inst, recent_inst):
        assert await _exists(api, "instance_log", "instance_id", kept) == 1
    async with api.pool.acquire() as conn:
        assert await conn.fetchval("SELECT parent_job_id FROM jobs WHERE id = $1::uuid",
                                   child) is None
        servers = await conn.fetch("SELECT server FROM events WHERE kind = 'server'")
        assert [r["server"] for r in servers] == ["new"]
        actions = {r["action"] for r in await conn.fetch("SELECT action FROM audit")}
        assert "ancient" not in actions and "oldish" in actions


async def test_one_purge_at_a_time_and_the_automatic_one(api: Api) -> None:
    rb = await api.client.check_in(document(name="Auto", folder="/Purge"))
    old, _ = await _job(api, rb.path, status="stopped", age=OLD)
    auto = AutoPurge(api.pool, Settings(retention_days=30), "rs")
    async with api.pool.acquire() as holder:
        assert await holder.fetchval(Q.purge_try_lock)  # another purge is running
        try:
            async with api.pool.acquire() as conn:
                with pytest.raises(PurgeBusy):
                    await purge(conn, cutoff=datetime.now(UTC))
            assert await auto.once() is None
            assert await _exists(api, "jobs", "id", old) == 1
        finally:
            await holder.fetchval(Q.purge_unlock)
    result = await auto.once()
    assert result is not None and result.jobs == 1 and result.audit == 0
    assert await _exists(api, "jobs", "id", old) == 0
    assert await AutoPurge(api.pool, Settings(), "rs").once() is None  # retention off


async def test_the_cli_counts_then_purges(api: Api, dsn: str) -> None:
    rb = await api.client.check_in(document(name="Cli", folder="/Purge"))
    old, _ = await _job(api, rb.path, status="success", age=OLD)
    kept, _ = await _job(api, rb.path, status="success", age=timedelta(days=2))
    runner = CliRunner()

    def invoke(*args: str) -> dict[str, int]:
        result = runner.invoke(cli, ["purge", "--older-than", "30d", "--json",
                                     "--database-url", dsn, *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    planned = await asyncio.to_thread(invoke, "--dry-run")
    assert planned["dry_run"] and planned["jobs"] == 1
    assert await _exists(api, "jobs", "id", old) == 1
    done = await asyncio.to_thread(invoke)
    assert done["jobs"] == 1 and done["audit"] == 0
    assert await _exists(api, "jobs", "id", old) == 0
    assert await _exists(api, "jobs", "id", kept) == 1
    bad = await asyncio.to_thread(runner.invoke, cli, ["purge", "--older-than", "soon"])
    assert bad.exit_code != 0 and "not a duration" in bad.output
