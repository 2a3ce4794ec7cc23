"""Drain and maintenance, asked through the database as the gateway asks them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from orch.db.servers import drain_server, set_maintenance
from orch.errors import Conflict, NotFound
from tests.integration.failover.pack import count, install
from tests.integration.failover.procs import (
    Fleet,
    assign,
    effect,
    instance_row,
    lines,
    register,
    run_rows,
    takeovers,
)
from tests.integration.helpers import check_in, eventually, runbook_doc, start, start_job, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _pack() -> None:
    install()


async def _status(pool: asyncpg.Pool, name: str) -> str:
    return await pool.fetchval("SELECT status FROM servers WHERE name = $1", name)


async def _runs_on(pool: asyncpg.Pool, runbook, expected: str) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        job = await start_job(conn, runbook)
    done = await wait_job(pool, job.id, timeout=30)
    assert (done.status, done.server) == ("success", expected)


async def test_drain_finishes_short_work_hands_over_the_rest_then_maintenance(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    async with pool.acquire() as conn:
        short = await check_in(conn, runbook_doc("Short", [
            start(), effect("e1", fx, seconds=0.5)]))
        long = await check_in(conn, runbook_doc("Long", [
            start(), effect("e1", fx), effect("r1", fx, gate=gate, rerunnable=True),
            effect("e2", fx)]))
        quick = await check_in(conn, runbook_doc("Quick", [start(), effect("e1", fx)]))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "sa", shutdown_grace_seconds=2)
        for rb in (short, long, quick):
            await assign(pool, rb, "p", "sa")
        async with pool.acquire() as conn:
            s_job = await start_job(conn, short)
            l_job = await start_job(conn, long)
        await eventually(lambda: lines(fx, s_job.id, "e1", 1), timeout=30)
        await eventually(lambda: lines(fx, l_job.id, "r1", 1), timeout=30)
        async with pool.acquire() as conn:
            assert await drain_server(conn, "p", actor="admin") == "draining"
            assert await drain_server(conn, "p", actor="admin") == "draining"  # no change

        async def in_maintenance() -> bool:
            return await _status(pool, "p") == "maintenance"

        await eventually(in_maintenance, timeout=30)
        s_done = await wait_job(pool, s_job.id, timeout=5)
        assert (s_done.status, s_done.server) == ("success", "p")  # finished within the grace
        # The long one was handed over, resumed elsewhere, not restarted.
        l_inst = await instance_row(pool, l_job.id)
        assert l_inst is not None

        async def taken_over() -> list[asyncpg.Record]:
            return await takeovers(pool, l_inst["id"])

        # The standby takes it over once woken by the release: maybe not yet.
        (taken,) = await eventually(taken_over, timeout=30)
        assert taken["server"] == "sa"
        assert (taken["data"]["taken_over_from"], taken["data"]["reason"]) == ("p", "released")
        gate.touch()
        l_done = await wait_job(pool, l_job.id, timeout=30)
        assert (l_done.status, l_done.server) == ("success", "sa")
        assert fleet["p"].proc is not None and fleet["p"].proc.poll() is None  # still running
        # In maintenance the primary claims nothing: its standby runs the jobs.
        await _runs_on(pool, quick, "sa")
        async with pool.acquire() as conn:
            assert await set_maintenance(conn, "p", False, actor="admin") == "up"
        await _runs_on(pool, quick, "p")
    effects = count(fx)
    assert effects[(l_job.id, "e1")] == 1 and effects[(l_job.id, "e2")] == 1
    assert await run_rows(pool, l_inst["id"]) == [
        ("start", "success"), ("e1", "success"), ("r1", "success"), ("e2", "success")]
    audit = await pool.fetch("SELECT actor, action, target FROM audit"
                             " WHERE action LIKE 'server %' ORDER BY id")
    assert [tuple(r) for r in audit] == [
        ("admin", "server drain", "p"), ("admin", "server maintenance off", "p")]


async def test_maintenance_claims_nothing_lets_running_work_finish_and_outlives_a_restart(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    async with pool.acquire() as conn:
        held = await check_in(conn, runbook_doc("Held", [
            start(), effect("e1", fx, gate=gate), effect("e2", fx)]))
        quick = await check_in(conn, runbook_doc("Quick", [start(), effect("e1", fx)]))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "sa")
        for rb in (held, quick):
            await assign(pool, rb, "p", "sa")
        async with pool.acquire() as conn:
            job = await start_job(conn, held)
        await eventually(lambda: lines(fx, job.id, "e1", 1), timeout=30)
        async with pool.acquire() as conn:
            assert await set_maintenance(conn, "p", True, actor="admin") == "maintenance"
        await _runs_on(pool, quick, "sa")  # at once: the claim itself checks the row
        gate.touch()
        done = await wait_job(pool, job.id, timeout=30)
        assert (done.status, done.server) == ("success", "p")  # it kept its instance
        # A restart keeps the server in maintenance.
        fleet["p"].terminate()
        assert await fleet["p"].wait_exit() == 0
        fleet["p"].start()
        await fleet["p"].ready(pool, status="maintenance")
        await _runs_on(pool, quick, "sa")
        async with pool.acquire() as conn:
            assert await set_maintenance(conn, "p", False, actor=None) == "up"
        await _runs_on(pool, quick, "p")


async def test_operator_requests_on_servers_that_do_not_run(pool: asyncpg.Pool) -> None:
    await register(pool, "gone")
    async with pool.acquire() as conn:
        with pytest.raises(NotFound):
            await drain_server(conn, "nobody", actor=None)
        with pytest.raises(Conflict):
            await drain_server(conn, "gone", actor=None)  # stopped: nothing to drain
        # Maintenance is a wish kept for the server's next start.
        assert await set_maintenance(conn, "gone", True, actor=None) == "stopped"
        assert await conn.fetchval("SELECT maintenance FROM servers WHERE name = 'gone'")
        await conn.execute("UPDATE servers SET status = 'draining' WHERE name = 'gone'")
        with pytest.raises(Conflict):
            await set_maintenance(conn, "gone", False, actor=None)  # a drain ends first
        assert await set_maintenance(conn, "gone", True, actor=None) == "draining"
