"""Runbook properties on a real server: timeout, retries, priority, disable, schedule, logging."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest

from orch.db.disable import set_disabled
from orch.db.jobs import resolve_runbook
from orch.errors import Conflict
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


def failing(aid: str = "boom") -> dict[str, Any]:
    return {"id": aid, "type": "run_program", "properties": {"program": "false"}}


def doc(name: str, activities: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    d = runbook_doc(name, activities)
    d.update(props)
    return d


async def _fetch(pool: asyncpg.Pool, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(sql, *args)


async def _job(pool: asyncpg.Pool, job_id: str) -> asyncpg.Record:
    rows = await _fetch(pool, "SELECT * FROM jobs WHERE id = $1", uuid.UUID(job_id))
    return rows[0]


async def _set_clock(pool: asyncpg.Pool, when: datetime | None) -> None:
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM test_clock")
        if when is not None:
            await conn.execute("INSERT INTO test_clock (now) VALUES ($1)", when)


async def _schedule(pool: asyncpg.Pool, name: str, definition: dict[str, Any]) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO schedules (name, definition) VALUES ($1, $2)",
                           name, definition)


# -- job timeout and retries -----------------------------------------------------------------


async def test_job_timeout_fails_the_job_with_reason_timeout(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Slow", [start(), wait("w", 60), compare("after")],
                                      job_timeout_seconds=0.3))
    async with running_server(dsn):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id)
    assert done.status == "failed"
    assert done.instance_ids == [done.instance_id]
    inst = (await _fetch(pool, "SELECT status, error FROM instances WHERE id = $1",
                         uuid.UUID(done.instance_id)))[0]
    assert (inst["status"], inst["error"]) == ("failed", "timeout")
    runs = await _fetch(pool, "SELECT activity, status, error FROM activity_runs"
                              " WHERE instance_id = $1 ORDER BY seq", uuid.UUID(done.instance_id))
    assert [(r["activity"], r["status"], r["error"]) for r in runs] == [
        ("start", "success", None), ("w", "stopped", "timeout")]


async def test_failed_job_is_retried_as_new_instances_after_back_off(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Flaky", [start(), failing()],
                                      retry={"max_retries": 2, "backoff_seconds": 0.3,
                                             "backoff_factor": 2}))
    async with running_server(dsn, poll_seconds=0.1):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id)
    assert done.status == "failed"
    assert len(done.instance_ids) == 3 and done.instance_id == done.instance_ids[-1]
    assert (await _job(pool, job.id))["retries"] == 2
    instances = await _fetch(pool, "SELECT status, started_at, ended_at FROM instances"
                                   " WHERE job_id = $1 ORDER BY started_at", uuid.UUID(job.id))
    assert [i["status"] for i in instances] == ["failed"] * 3
    # each retry waited at least its back-off after the failure: 0.3 s, then 0.6 s
    assert (instances[1]["started_at"] - instances[0]["ended_at"]).total_seconds() >= 0.3
    assert (instances[2]["started_at"] - instances[1]["ended_at"]).total_seconds() >= 0.6
    events = await _fetch(pool, "SELECT status, data FROM events WHERE job_id = $1"
                                " AND kind = 'job' ORDER BY seq", uuid.UUID(job.id))
    assert [e["status"] for e in events] == [
        "queued", "running", "queued", "running", "queued", "running", "failed"]
    assert [e["data"]["retry"] for e in events if e["data"] and "retry" in e["data"]] == [1, 2]


async def test_a_retry_starts_when_its_back_off_ends_not_at_the_next_poll(
    dsn: str, pool: asyncpg.Pool
) -> None:
    # Nothing notifies when a back-off ends: the server wakes its claimer at the
    # earliest one it knows of. With its poll and its heartbeat's claim out of the
    # way (10 minutes, 20 s), the two retries still run within the wait's deadline.
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Backs off", [start(), failing()],
                                      retry={"max_retries": 2, "backoff_seconds": 0.2}))
    async with running_server(dsn, poll_seconds=600, heartbeat_seconds=20,
                              server_timeout_seconds=60):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id, timeout=15)
    assert done.status == "failed" and len(done.instance_ids) == 3
    instances = await _fetch(pool, "SELECT started_at, ended_at FROM instances"
                                   " WHERE job_id = $1 ORDER BY started_at", uuid.UUID(job.id))
    for before, after in itertools.pairwise(instances):
        assert (after["started_at"] - before["ended_at"]).total_seconds() >= 0.2


async def test_a_retry_shows_its_back_off_as_waiting_reason(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Later", [start(), failing()],
                                      retry={"max_retries": 1, "backoff_seconds": 3600}))
    async with running_server(dsn, poll_seconds=0.1):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)

        async def requeued() -> asyncpg.Record | None:
            row = await _job(pool, job.id)
            return row if row["retries"] == 1 else None

        row = await eventually(requeued)
        assert row["status"] == "queued"
        assert row["waiting_reason"].startswith("retry 1 of 1 after a failure, not before ")


async def test_a_retried_job_can_still_succeed(dsn: str, pool: asyncpg.Pool) -> None:
    # fails while the counter is below 1, then succeeds
    act = {"id": "c", "type": "compare_values",
           "properties": {"value": "{runbook.InstanceId}", "op": "equals", "to": "x"}}
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("NeverMatches", [start(), act],
                                      retry={"max_retries": 1}))
    async with running_server(dsn, poll_seconds=0.1):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id)
    # compare_values publishes Result=false and succeeds: no retry for a success
    assert done.status == "success" and len(done.instance_ids) == 1


# -- priority ---------------------------------------------------------------------------------


async def test_higher_priority_is_claimed_first(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Prio", [start(), compare("a")]))
        jobs = [await start_job(conn, rb, priority=p) for p in (0, 5, 1, 5, -2)]
    async with running_server(dsn, capacity=1, claim_batch=1):
        for job in jobs:
            await wait_job(pool, job.id)
    rows = await _fetch(pool, "SELECT id::text, priority FROM jobs ORDER BY started_at")
    order = [r["id"] for r in rows]
    assert order == [jobs[1].id, jobs[3].id, jobs[2].id, jobs[0].id, jobs[4].id]


# -- disable / enable -------------------------------------------------------------------------


async def test_disabled_runbook_refuses_starts_and_holds_queued_jobs(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Switch", [start(), compare("a")]))
        queued = await start_job(conn, rb)
        state = await set_disabled(conn, uuid.UUID(rb.id), True, actor="tester")
        assert state.disabled and state.disabled_at is not None
        rb = await resolve_runbook(conn, rb.id)
        assert rb is not None and rb.disabled
        with pytest.raises(Conflict, match="disabled"):
            await start_job(conn, rb)
    async with running_server(dsn, poll_seconds=0.1) as srv:

        async def reasoned() -> bool:
            row = await _job(pool, queued.id)
            return row["waiting_reason"] == "runbook disabled"

        await eventually(reasoned)
        # a few claim rounds later it still waits
        before = srv.claimed
        await _rounds(srv, 3)
        assert (await _job(pool, queued.id))["status"] == "queued" and srv.claimed == before
        async with pool.acquire() as conn:
            state = await set_disabled(conn, uuid.UUID(rb.id), False, actor="tester")
        assert not state.disabled
        done = await wait_job(pool, queued.id)
        assert done.status == "success"
    events = await _fetch(pool, "SELECT status FROM events WHERE kind = 'runbook' ORDER BY seq")
    assert [e["status"] for e in events] == ["disabled", "enabled"]


async def _rounds(srv: Any, n: int) -> bool:
    """Let ``n`` poll intervals pass (each one a claim and waiting-reasons round).

    Only to show that something does *not* happen; what must happen is awaited.
    """
    await asyncio.sleep(n * srv.settings.poll_seconds)
    return True


async def test_disabling_stops_the_monitor_job(dsn: str, pool: asyncpg.Pool) -> None:
    mon = {"id": "tick", "type": "monitor_date_time", "properties": {"interval_seconds": 3600}}
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Ticker", [mon, compare("a")]))
    async with running_server(dsn, poll_seconds=0.1):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)

        async def running() -> bool:
            return (await _job(pool, job.id))["status"] == "running"

        await eventually(running)
        async with pool.acquire() as conn:
            state = await set_disabled(conn, uuid.UUID(rb.id), True, actor="tester")
        assert state.stopped_jobs == [job.id]
        done = await wait_job(pool, job.id)
        assert done.status == "stopped"


# -- schedule gate ----------------------------------------------------------------------------

MORNING = {"time_zone": "UTC", "hours": ["08:00-09:00"]}


async def test_job_outside_its_schedule_waits_then_runs_in_the_window(
    dsn: str, pool: asyncpg.Pool
) -> None:
    await _schedule(pool, "Morning", MORNING)
    await _set_clock(pool, datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Gated", [start(), compare("a")],
                                      schedule={"name": "Morning"}))
        job = await start_job(conn, rb)
    assert job.status == "queued"
    assert job.waiting_reason == ("outside schedule 'Morning'; "
                                  "next window at 2026-03-02T08:00:00Z")
    async with running_server(dsn, poll_seconds=0.1) as srv:
        await _rounds(srv, 5)
        row = await _job(pool, job.id)
        assert row["status"] == "queued"
        assert row["waiting_reason"] == job.waiting_reason
        await _set_clock(pool, datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC))
        done = await wait_job(pool, job.id)
    assert done.status == "success"
    # it was let in until the window's end
    assert (await _job(pool, job.id))["gate_until"] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_job_started_inside_the_window_runs_at_once(dsn: str, pool: asyncpg.Pool) -> None:
    await _schedule(pool, "Morning", MORNING)
    await _set_clock(pool, datetime(2026, 3, 2, 8, 59, 10, tzinfo=UTC))
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("GatedNow", [start(), compare("a")],
                                      schedule={"name": "Morning", "outside": "refuse"}))
        job = await start_job(conn, rb)
    assert job.waiting_reason is None
    assert (await _job(pool, job.id))["gate_until"] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with running_server(dsn, poll_seconds=0.1):
        assert (await wait_job(pool, job.id)).status == "success"


async def test_claim_never_takes_a_job_after_its_window_closed(
    dsn: str, pool: asyncpg.Pool
) -> None:
    await _schedule(pool, "Morning", MORNING)
    await _set_clock(pool, datetime(2026, 3, 2, 8, 59, 10, tzinfo=UTC))
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Closing", [start(), compare("a")],
                                      schedule={"name": "Morning"}))
        job = await start_job(conn, rb)
    # no server ran it in time; the window closed
    await _set_clock(pool, datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC))
    async with running_server(dsn, poll_seconds=0.1) as srv:

        async def reasoned() -> str | None:
            reason = (await _job(pool, job.id))["waiting_reason"]
            return reason if reason and "next window" in reason else None

        reason = await eventually(reasoned)
        assert reason == "outside schedule 'Morning'; next window at 2026-03-03T08:00:00Z"
        assert srv.claimed == 0


async def test_refuse_mode_refuses_a_start_outside_the_schedule(
    dsn: str, pool: asyncpg.Pool
) -> None:
    await _schedule(pool, "Morning", MORNING)
    await _set_clock(pool, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Strict", [start(), compare("a")],
                                      schedule={"name": "Morning", "outside": "refuse"}))
        with pytest.raises(Conflict, match=r"refuses jobs outside its schedule.*"
                                           r"next window at 2026-03-03T08:00:00Z"):
            await start_job(conn, rb)
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0


async def test_missing_schedule_is_a_waiting_reason(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Orphan", [start(), compare("a")],
                                      schedule={"name": "Nowhere"}))
        job = await start_job(conn, rb)
    assert job.waiting_reason == "schedule 'Nowhere' does not exist"


# -- logging level ----------------------------------------------------------------------------


async def _published(pool: asyncpg.Pool, instance_id: str) -> list[Any]:
    rows = await _fetch(pool, "SELECT published FROM activity_runs WHERE instance_id = $1"
                              " ORDER BY seq", uuid.UUID(instance_id))
    return [r["published"] for r in rows]


async def test_logging_off_keeps_only_statuses_and_timings(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc(
            "Quiet", [start(["Secret"]), compare("a", "{start.Secret}", "s3cr3t")],
            logging={"store_published_data": False, "store_common_data": False}))
        job = await start_job(conn, rb, {"Secret": "s3cr3t"})
    async with running_server(dsn):
        done = await wait_job(pool, job.id)
    assert done.status == "success"
    assert await _published(pool, done.instance_id) == [[], []]
    runs = await _fetch(pool, "SELECT status, started_at, ended_at FROM activity_runs"
                              " WHERE instance_id = $1", uuid.UUID(done.instance_id))
    assert all(r["status"] == "success" and r["ended_at"] is not None for r in runs)
    events = await _fetch(pool, "SELECT kind, activity, status FROM events WHERE job_id = $1"
                                " ORDER BY seq", uuid.UUID(job.id))
    assert ("activity", "a", "success") in [(e["kind"], e["activity"], e["status"])
                                           for e in events]
    assert not any("s3cr3t" in msgspec.json.encode(dict(r)).decode()
                   for r in await _fetch(pool, "SELECT published FROM activity_runs"))


async def test_logging_common_only(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("CommonOnly", [start(), compare("a")],
                                      logging={"store_published_data": False}))
        job = await start_job(conn, rb)
    async with running_server(dsn):
        done = await wait_job(pool, job.id)
    published = await _published(pool, done.instance_id)
    assert set(published[1][0]) == {"Status", "StartTime", "EndTime", "ErrorSummary",
                                    "ActivityName"}


async def test_default_logging_stores_everything(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc("Loud", [start(), compare("a")]))
        job = await start_job(conn, rb)
    async with running_server(dsn):
        done = await wait_job(pool, job.id)
    assert (await _published(pool, done.instance_id))[1][0]["Result"] == "true"
