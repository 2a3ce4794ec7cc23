"""A server paused (SIGSTOP) until marked down, then resumed, writes nothing for what it lost."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.integration.failover.pack import count, install
from tests.integration.failover.procs import (
    Fleet,
    assign,
    effect,
    instance_row,
    lines,
    run_rows,
    takeovers,
)
from tests.integration.helpers import check_in, eventually, runbook_doc, start, start_job, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _pack() -> None:
    install()


async def test_a_paused_server_marked_down_stops_what_it_lost_and_writes_nothing(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Fenced", [
            start(), effect("e1", fx), effect("r1", fx, gate=gate, rerunnable=True),
            effect("e2", fx)]))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "sa")
        await assign(pool, rb, "p", "sa")
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        await eventually(lambda: lines(fx, job.id, "r1", 1), timeout=30)
        inst = await instance_row(pool, job.id)
        assert inst is not None and inst["server"] == "p"

        fleet["p"].pause()  # a network pause, a stuck VM: alive but silent

        async def taken() -> bool:
            row = await instance_row(pool, job.id)
            return row is not None and row["server"] == "sa"

        await eventually(taken, timeout=30)
        (event,) = await takeovers(pool, inst["id"])
        # The gate opens while p still sleeps: when it wakes, its own r1 run ends
        # at once and p would go on to e2 — were it not fenced.
        gate.touch()
        done = await wait_job(pool, job.id, timeout=30)
        assert (done.status, done.server) == ("success", "sa")

        fleet["p"].resume()

        async def back() -> bool:
            return bool(await pool.fetchval(
                "SELECT count(*) FROM events WHERE kind = 'server' AND server = 'p'"
                " AND status = 'up' AND data->>'after' = 'down'"))

        await eventually(back, timeout=30)
        await eventually(lambda: _in_log(fleet["p"].output(), "taken over by another server"),
                         timeout=30)
        # p is healthy again and runs what is given to it.
        async with pool.acquire() as conn:
            mine = await start_job(conn, rb, target_server="p")
        gate.touch()
        assert (await wait_job(pool, mine.id, timeout=30)).server == "p"

    writes = await pool.fetchval(
        "SELECT count(*) FROM events WHERE instance_id = $1 AND server = 'p' AND seq > $2",
        uuid.UUID(inst["id"]), event["seq"])
    assert writes == 0, "the fenced server wrote for an instance it no longer owned"
    assert await run_rows(pool, inst["id"]) == [
        ("start", "success"), ("e1", "success"), ("r1", "success"), ("e2", "success")]
    effects = count(fx)
    assert effects[(job.id, "e1")] == 1
    assert effects[(job.id, "e2")] == 1  # p never got past its r1
    assert effects[(job.id, "r1")] == 2  # p's run, and sa's re-run after the takeover
    status = await pool.fetchval("SELECT status FROM servers WHERE name = 'p'")
    assert status == "up"


async def _in_log(text: str, needle: str) -> bool:
    return needle in text
