"""Losing PostgreSQL under load: servers reconnect, catch up, and finish every job once.

The test runs its own embedded PostgreSQL in a temporary folder (the
session's is shared by other tests) and stops it with jobs in flight.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pytest

from orch.db.connect import create_pool
from orch.db.embedded import EmbeddedPostgres
from orch.db.migrate import migrate
from tests.integration.failover.pack import count, install
from tests.integration.failover.procs import TIMEOUT, Fleet, effect, run_rows
from tests.integration.helpers import (
    FINAL,
    check_in,
    eventually,
    runbook_doc,
    start,
    start_job,
)

pytestmark = pytest.mark.slow

ACTIVITIES = ("e1", "r1", "e2", "r2", "e3")


async def test_servers_survive_a_database_restart_under_load(tmp_path: Path) -> None:
    install()
    fx = tmp_path / "effects"
    # Not under tmp_path: another pytest session resets /tmp/pytest-of-<user> to
    # 0700, and PostgreSQL runs as another user when we are root.
    folder = Path(tempfile.mkdtemp(prefix="orch-test-outage-"))
    pg = EmbeddedPostgres(folder, server_options={"fsync": "off"})
    await pg.start()
    pool: asyncpg.Pool | None = None
    try:
        await migrate(pg.dsn)
        pool = await create_pool(pg.dsn, min_size=1, max_size=4)
        async with pool.acquire() as conn:
            rb = await check_in(conn, runbook_doc("Busy", [
                start(),
                *(effect(a, fx, seconds=0.1, rerunnable=a.startswith("r")) for a in ACTIVITIES),
            ]))
        async with Fleet(pg.dsn) as fleet:
            await fleet.start(pool, "a", "b")
            jobs = []
            for _ in range(40):
                async with pool.acquire() as conn:
                    jobs.append(await start_job(conn, rb))
                await asyncio.sleep(0.02)

            async def some_done() -> bool:
                return await _finished(pool, jobs) >= 5  # type: ignore[arg-type]

            await eventually(some_done, timeout=60)
            assert await _finished(pool, jobs) < len(jobs)  # the rest are in flight or queued
            await pool.close()
            pool = None
            await pg.stop()  # pg_ctl stop -m fast: every session is cut
            await asyncio.sleep(2 * TIMEOUT)  # down longer than the servers' timeout
            await pg.start()
            pool = await create_pool(pg.dsn, min_size=1, max_size=4)
            async with pool.acquire() as conn:  # accepted after the outage, too
                jobs.append(await start_job(conn, rb))

            async def all_done() -> bool:
                return await _finished(pool, jobs) == len(jobs)  # type: ignore[arg-type]

            await eventually(all_done, timeout=120)
            statuses = await pool.fetch(
                "SELECT status, count(*) FROM jobs GROUP BY status")
            assert {r["status"]: r["count"] for r in statuses} == {"success": len(jobs)}, \
                fleet.logs()
            # Both servers lived through it: nobody was marked down for the
            # database's own absence, and both are up again.
            downs = await pool.fetchval(
                "SELECT count(*) FROM events WHERE kind = 'server' AND status = 'down'")
            assert downs == 0
            states = await pool.fetch("SELECT name, status FROM servers ORDER BY name")
            assert [tuple(r) for r in states] == [("a", "up"), ("b", "up")]
        effects = count(fx)
        for job in jobs:
            for a in ("e1", "e2", "e3"):  # not rerunnable: exactly once
                assert effects.get((job.id, a)) == 1, (job.id, a)
            inst = await pool.fetchval(
                "SELECT instance_id::text FROM jobs WHERE id = $1", uuid.UUID(job.id))
            # reported finished only with every result recorded
            assert await run_rows(pool, inst) == [
                ("start", "success"), *((a, "success") for a in ACTIVITIES)]
    finally:
        if pool is not None:
            await pool.close()
        await pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _finished(pool: asyncpg.Pool, jobs: list) -> int:  # type: ignore[type-arg]
    return await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])",
        [uuid.UUID(j.id) for j in jobs], list(FINAL))


async def test_the_gateway_answers_503_while_the_database_is_away_then_recovers() -> None:
    from aiohttp import ClientSession, web

    from orch.config import Settings
    from orch.db.bootstrap import bootstrap_admin
    from orch.gateway import make_app

    folder = Path(tempfile.mkdtemp(prefix="orch-test-outage-"))
    pg = EmbeddedPostgres(folder, server_options={"fsync": "off"})
    await pg.start()
    pool = None
    runner = None
    try:
        await migrate(pg.dsn)
        pool = await create_pool(pg.dsn, min_size=2, max_size=4)
        async with pool.acquire() as conn:
            await bootstrap_admin(conn, None, token="orch_t", password="pw")
        runner = web.AppRunner(make_app(Settings(), pool), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/jobs"
        headers = {"Authorization": "Bearer orch_t"}
        async with ClientSession(headers=headers) as http:

            async def status() -> int:
                async with http.get(url) as resp:
                    await resp.read()
                    return resp.status

            assert await status() == 200
            await pg.stop()
            for _ in range(3):  # each pooled connection finds out, none is a 500
                assert await status() == 503
            await pg.start()

            async def back() -> bool:
                return await status() == 200

            await eventually(back, timeout=30)
    finally:
        if runner is not None:
            await runner.cleanup()
        if pool is not None:
            await pool.close()
        await pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
