"""Runbook servers as separate processes: exactly-once claims, durability under kill -9, SIGTERM."""

from __future__ import annotations

import signal
import uuid

import asyncpg
import pytest

from tests.integration.helpers import (
    check_in,
    compare,
    eventually,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait,
    wait_job,
)
from tests.integration.processes import ServerProcess, instance_of

pytestmark = pytest.mark.slow


async def test_two_servers_claim_each_job_exactly_once(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Race", [start(), compare("a")]))
    servers = [ServerProcess(dsn, "race1"), ServerProcess(dsn, "race2")]
    try:
        for s in servers:
            await s.ready(pool)
        async with pool.acquire() as conn:
            jobs = [await start_job(conn, rb) for _ in range(200)]

        async def finished() -> bool:
            async with pool.acquire() as conn:
                return await conn.fetchval(
                    "SELECT count(*) FROM jobs WHERE status = 'success'") == 200

        await eventually(finished, timeout=60)
    finally:
        for s in servers:
            s.close()
    async with pool.acquire() as conn:
        per_job = await conn.fetch(
            "SELECT j.id, j.claimed_by, count(DISTINCT i.id) AS instances,"
            "       count(a.run_id) AS runs"
            "  FROM jobs j JOIN instances i ON i.job_id = j.id"
            "  JOIN activity_runs a ON a.instance_id = i.id GROUP BY j.id, j.claimed_by")
        claimed_events = await conn.fetchval(
            "SELECT count(*) FROM events WHERE kind = 'job' AND status = 'running'")
    assert len(per_job) == len(jobs) == 200
    assert all(r["instances"] == 1 and r["runs"] == 2 for r in per_job)
    assert {r["claimed_by"] for r in per_job} <= {"race1", "race2"}
    assert claimed_events == 200


async def _run_status(pool: asyncpg.Pool, instance_id: str, activity: str) -> str | None:
    async with pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT status FROM activity_runs WHERE instance_id = $1 AND activity = $2",
            uuid.UUID(instance_id), activity)


async def test_results_are_durable_before_the_next_activity(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc(
            "Durable", [start(), compare("a", "x", "x"), wait("w", 3), compare("b")]))
    server = ServerProcess(dsn, "victim")
    try:
        await server.ready(pool)
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        iid = await eventually(lambda: instance_of(pool, job.id))
        await eventually(lambda: _is_running(pool, iid, "w"))
        server.proc.kill()  # SIGKILL while `w` runs: between `a` and `b`
        await server.wait_exit()
    finally:
        server.close()
    async with pool.acquire() as conn:
        runs = await conn.fetch(
            "SELECT activity, status, published FROM activity_runs WHERE instance_id = $1"
            " ORDER BY seq", uuid.UUID(iid))
        job_row = await conn.fetchrow("SELECT status, claimed_by FROM jobs WHERE id = $1",
                                      uuid.UUID(job.id))
    assert [(r["activity"], r["status"]) for r in runs] == [
        ("start", "success"), ("a", "success"), ("w", "running")]
    assert runs[1]["published"][0]["Result"] == "true"
    assert job_row["status"] == "running" and job_row["claimed_by"] == "victim"
    # The same server name coming back releases its previous life and resumes it.
    async with running_server(dsn, server_name="victim"):
        done = await wait_job(pool, job.id, timeout=30)
    assert done.status == "success"
    async with pool.acquire() as conn:
        final = await conn.fetch(
            "SELECT activity, status FROM activity_runs WHERE instance_id = $1 ORDER BY seq",
            uuid.UUID(iid))
        epoch = await conn.fetchval("SELECT epoch FROM instances WHERE id = $1", uuid.UUID(iid))
    assert [(r["activity"], r["status"]) for r in final] == [
        ("start", "success"), ("a", "success"), ("w", "success"), ("b", "success")]
    assert epoch == 2


async def _is_running(pool: asyncpg.Pool, iid: str, activity: str) -> bool:
    return await _run_status(pool, iid, activity) == "running"


async def test_sigterm_finishes_short_instances_and_hands_over_the_rest(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        short = await check_in(conn, runbook_doc("Short", [start(), wait("w", 1)]))
        long = await check_in(conn, runbook_doc("Long", [start(), wait("w", 60), compare("b")]))
    server = ServerProcess(dsn, "leaving", shutdown_grace_seconds=2)
    try:
        await server.ready(pool)
        async with pool.acquire() as conn:
            s_job = await start_job(conn, short)
            l_job = await start_job(conn, long)
        s_iid = await eventually(lambda: instance_of(pool, s_job.id))
        l_iid = await eventually(lambda: instance_of(pool, l_job.id))
        await eventually(lambda: _is_running(pool, s_iid, "w"))
        await eventually(lambda: _is_running(pool, l_iid, "w"))
        server.signal(signal.SIGTERM)
        assert await server.wait_exit() == 0, server.output()
    finally:
        server.close()
    short_done = await wait_job(pool, s_job.id, timeout=1)
    assert short_done.status == "success" and short_done.server == "leaving"
    async with pool.acquire() as conn:
        inst = await conn.fetchrow("SELECT status, server FROM instances WHERE id = $1",
                                   uuid.UUID(l_iid))
        srv = await conn.fetchrow("SELECT status, running FROM servers WHERE name = 'leaving'")
        released = await conn.fetchval(
            "SELECT count(*) FROM events WHERE instance_id = $1 AND data->>'released_by' = $2",
            uuid.UUID(l_iid), "leaving")
    assert inst["status"] == "running" and inst["server"] is None
    assert srv["status"] == "stopped" and srv["running"] == 0
    assert released == 1
    # Another server takes the released instance over and resumes it.
    await _shorten_wait(pool, l_job.id)
    async with running_server(dsn, server_name="taker"):
        done = await wait_job(pool, l_job.id, timeout=30)
    assert done.status == "success" and done.server == "taker"
    async with pool.acquire() as conn:
        taken = await conn.fetchrow(
            "SELECT server, data FROM events WHERE instance_id = $1"
            " AND data ? 'taken_over_from'", uuid.UUID(l_iid))
    assert taken["server"] == "taker" and taken["data"]["epoch"] == 2


async def _shorten_wait(pool: asyncpg.Pool, job_id: str) -> None:
    """Make the resumed `wait` short: point the job at a version that waits 0 s."""
    from orch.db import jobs

    jobs._compiled.clear()  # this process may have compiled the version already
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE runbook_versions v SET document = jsonb_set(v.document,"
            " '{activities,1,properties,seconds}', '0') FROM jobs j"
            " WHERE j.id = $1 AND v.runbook_id = j.runbook_id AND v.version = j.runbook_version",
            uuid.UUID(job_id))


async def test_a_non_rerunnable_start_is_durable_before_its_side_effect(
    dsn: str, pool: asyncpg.Pool, tmp_path
) -> None:
    marker = tmp_path / "ran"
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Effect", [
            start(),
            {"id": "p", "type": "run_program",
             "properties": {"program": "sh", "args": ["-c", f"echo x >> {marker}; sleep 10"]}},
            compare("b")]))
    server = ServerProcess(dsn, "effect")
    try:
        await server.ready(pool)
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        iid = await eventually(lambda: instance_of(pool, job.id))
        await eventually(lambda: _exists(marker))  # the side effect happened ...
        assert await _run_status(pool, iid, "p") == "running"  # ... after its start committed
        server.proc.kill()
        await server.wait_exit()
    finally:
        server.close()
    async with running_server(dsn, server_name="effect"):
        done = await wait_job(pool, job.id, timeout=30)
    assert done.status == "failed"  # no failure link from p: the instance fails
    async with pool.acquire() as conn:
        p = await conn.fetchrow(
            "SELECT status, published FROM activity_runs WHERE instance_id = $1"
            " AND activity = 'p'", uuid.UUID(iid))
    assert p["status"] == "interrupted"
    assert p["published"][0]["ErrorSummary"] == "interrupted: server lost"
    assert marker.read_text() == "x\n"  # never run twice


async def _exists(path) -> bool:  # type: ignore[no-untyped-def]
    return path.exists()
