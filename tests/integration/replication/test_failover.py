"""A PostgreSQL failover to another host: the primary is SIGKILLed, its synchronous
standby promoted, and orch — given the multi-host URL with
``target_session_attrs=read-write`` — carries on there.

Runbook servers run as subprocesses (``tests/integration/failover/procs.py``,
heartbeat 0.2 s, timeout 1 s) with the failover test pack, whose activities
append a line per run to a file, so side effects are counted across the failover.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from orch.db.jobs import JobRow, RunbookRow
from tests.integration.failover.pack import count, install
from tests.integration.failover.procs import Fleet, effect, run_rows
from tests.integration.helpers import FINAL, check_in, compare, runbook_doc, start, start_job
from tests.integration.replication.cluster import PgPair
from tests.integration.replication.conftest import Gateway, retrying, until

pytestmark = pytest.mark.slow

ACTIVITIES = ("e1", "r1", "e2", "r2", "e3")


async def _check_in(pool: asyncpg.Pool, doc: dict) -> RunbookRow:  # type: ignore[type-arg]
    async with pool.acquire() as conn:
        return await check_in(conn, doc)


async def _start(pool: asyncpg.Pool, rb: RunbookRow) -> JobRow:
    async def once() -> JobRow:
        async with pool.acquire() as conn:
            return await start_job(conn, rb)

    return await retrying(once)


async def _finished(pool: asyncpg.Pool, jobs: list[JobRow]) -> int:
    return int(await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])",
        [uuid.UUID(j.id) for j in jobs], list(FINAL)))


async def test_jobs_running_through_a_failover_all_finish_and_none_runs_twice(
    pair: PgPair, pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    install()
    fx = tmp_path / "effects"
    gate = tmp_path / "gate"  # the last activity waits for it: no job ends before the failover
    rb = await _check_in(pool, runbook_doc("Busy", [
        start(),
        *(effect(a, fx, seconds=0.15, rerunnable=a.startswith("r"),
                 gate=gate if a == ACTIVITIES[-1] else None) for a in ACTIVITIES),
    ]))
    async with Fleet(pair.url) as fleet:
        await fleet.start(pool, "a", "b")
        jobs = [await _start(pool, rb) for _ in range(24)]

        async def some_at_the_gate() -> bool:
            return sum(1 for (_, a) in count(fx) if a == ACTIVITIES[-1]) >= 4

        await until(some_at_the_gate)  # the rest are in flight, committing, or queued
        await asyncio.to_thread(pair.fail_over)  # SIGKILL the primary, promote the standby
        jobs.append(await _start(pool, rb))  # accepted by the new primary
        gate.touch()

        async def all_done() -> bool:
            return await _finished(pool, jobs) == len(jobs)

        await until(all_done, timeout=120)
        assert await pool.fetchval("SELECT pg_is_in_recovery()") is False
        statuses = await pool.fetch("SELECT status, count(*) FROM jobs GROUP BY status")
        assert {r["status"]: r["count"] for r in statuses} == {"success": len(jobs)}, \
            fleet.logs()
        # both servers reconnected to the new primary and carried on: nobody was
        # taken for dead, nothing was taken over
        assert await pool.fetchval(
            "SELECT count(*) FROM events WHERE kind = 'server' AND status = 'down'") == 0
        states = await pool.fetch("SELECT name, status FROM servers ORDER BY name")
        assert [tuple(r) for r in states] == [("a", "up"), ("b", "up")]
        assert "released back to the pool" not in fleet.logs()
    effects = count(fx)
    for job in jobs:
        for a in ("e1", "e2", "e3"):  # not rerunnable: exactly once
            assert effects.get((job.id, a)) == 1, (job.id, a)
        inst = await pool.fetchval("SELECT instance_id::text FROM jobs WHERE id = $1",
                                   uuid.UUID(job.id))
        # every result the servers were told was durable is on the new primary
        assert await run_rows(pool, inst) == [
            ("start", "success"), *((a, "success") for a in ACTIVITIES)]


async def test_a_failover_while_idle_the_next_job_runs(
    pair: PgPair, pool: asyncpg.Pool,
) -> None:
    install()
    rb = await _check_in(pool, runbook_doc("Idle", [start(), compare("c")]))
    # no poll to fall back on: the job is found by the re-established LISTEN (or
    # the catch-up read when the listener reconnects)
    async with Fleet(pair.url) as fleet:
        await fleet.start(pool, "a", poll_seconds=600)
        first = await _start(pool, rb)

        async def done(job: JobRow) -> bool:
            return await pool.fetchval("SELECT status FROM jobs WHERE id = $1",
                                       uuid.UUID(job.id)) == "success"

        await until(lambda: done(first))
        await asyncio.to_thread(pair.fail_over)

        async def beating() -> bool:  # the server is back, on the new primary
            return bool(await pool.fetchval(
                "SELECT heartbeat_at > now() - interval '1 second' FROM servers"
                " WHERE name = 'a'"))

        await until(beating)
        nxt = await _start(pool, rb)
        await until(lambda: done(nxt), timeout=60)
        assert "released back to the pool" not in fleet.logs()


async def test_starts_and_check_ins_across_a_failover_are_never_duplicated(
    pair: PgPair, pool: asyncpg.Pool, gateway: object,
) -> None:
    """The client gets success or a clear 503 (and retries); a start retried with its
    Idempotency-Key never starts a second job, a check-in retried never makes a
    second runbook; the live feed follows the failover."""
    gw: Gateway = await gateway()  # type: ignore[operator]
    status, rb = await gw.call("POST", "/api/v1/runbooks",
                               runbook_doc("Target", [start(), compare("c")]))
    assert status == 201, rb
    ws = await gw.http.ws_connect(f"{gw.url}/api/v1/live")
    await ws.send_json({"subscribe": {"all": True}})
    assert (await ws.receive_json(timeout=15))["type"] == "subscribed"

    seen: dict[str, list[int]] = {}
    job_of: dict[str, str] = {}

    async def start_with_key(key: str) -> None:
        while True:
            status, body = await gw.call("POST", "/api/v1/jobs", {"runbook": rb["id"]},
                                         headers={"Idempotency-Key": key})
            seen.setdefault(key, []).append(status)
            if status in (200, 201):
                job_of[key] = body["id"]
                return
            assert status == 503, (status, body)  # never a 500, never a hang
            assert body["error"]["code"] in ("database-unavailable", "timeout"), body
            await asyncio.sleep(0.05)

    async def check_in_named(name: str) -> None:
        while True:
            status, body = await gw.call("POST", "/api/v1/runbooks",
                                         runbook_doc(name, [start(), compare("c")]))
            seen.setdefault(name, []).append(status)
            if status in (201, 409):  # 409: the first try committed, its answer was lost
                return
            assert status == 503, (status, body)
            await asyncio.sleep(0.05)

    async def traffic() -> None:
        for i in range(40):
            await asyncio.gather(start_with_key(f"key-{i}"), check_in_named(f"Doc {i}"))

    async def fail_over_soon() -> None:
        await until(lambda: asyncio.sleep(0, len(job_of) >= 5))
        await asyncio.to_thread(pair.fail_over)

    await asyncio.gather(traffic(), fail_over_soon())
    assert any(503 in s for s in seen.values()), "the failover went unnoticed"
    # one job per key, the one the client was given; no job without a key but the first
    rows = await retrying(lambda: pool.fetch(
        "SELECT k.key, j.id::text AS id FROM jobs j"
        " LEFT JOIN job_idempotency_keys k ON k.job_id = j.id ORDER BY j.created_at"))
    assert {r["key"]: r["id"] for r in rows if r["key"] is not None} == job_of
    assert len(rows) == len(job_of)
    names = await pool.fetch("SELECT name, count(*) AS n FROM runbooks"
                             " WHERE name LIKE 'Doc %' GROUP BY 1")
    assert sorted((r["name"], r["n"]) for r in names) == sorted(
        (f"Doc {i}", 1) for i in range(40))
    # the feed reconnected to the new primary: a job started now reaches the socket
    status, job = await gw.call("POST", "/api/v1/jobs", {"runbook": rb["id"]})
    assert status == 201, job
    while True:
        frame = await ws.receive_json(timeout=30)
        assert frame["type"] == "events", frame
        if any(e.get("job_id") == job["id"] for e in frame["events"]):
            break
    status, health = await gw.call("GET", "/health")
    assert (status, health["status"], health["database"]) == (200, "ok", "ok")
    await ws.close()
