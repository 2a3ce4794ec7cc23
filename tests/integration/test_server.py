"""The runbook server in-process: claim, run, record, stop, limits, waiting reasons, wake-ups."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from orch.db.jobs import request_stop
from orch.errors import Conflict, NotFound
from tests.integration.helpers import (
    check_in,
    compare,
    eventually,
    fast_settings,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait,
    wait_job,
)


async def _runs(pool: asyncpg.Pool, instance_id: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT activity, status, published, error FROM activity_runs"
            " WHERE instance_id = $1 ORDER BY seq", uuid.UUID(instance_id))


async def _reason(pool: asyncpg.Pool, job_id: str) -> str | None:
    async with pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT waiting_reason FROM jobs WHERE id = $1 AND status = 'queued'",
            uuid.UUID(job_id))


async def _status(pool: asyncpg.Pool, job_id: str) -> str:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT status FROM jobs WHERE id = $1", uuid.UUID(job_id))


async def test_job_runs_to_success_with_events(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Chain", [start(), compare("a"), compare("b")]))
    async with running_server(dsn) as srv:
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id)
    assert done.status == "success"
    assert done.server == srv.name
    assert done.instance_id is not None and done.instance_ids == [done.instance_id]
    assert done.started_at is not None and done.ended_at is not None
    runs = await _runs(pool, done.instance_id)
    assert [(r["activity"], r["status"]) for r in runs] == [
        ("start", "success"), ("a", "success"), ("b", "success")]
    assert runs[1]["published"][0]["Result"] == "true"
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT kind, status, activity FROM events WHERE job_id = $1 ORDER BY seq",
            uuid.UUID(job.id))
    kinds = [(e["kind"], e["status"], e["activity"]) for e in events]
    assert kinds[:3] == [("job", "queued", None), ("job", "running", None),
                         ("instance", "running", None)]
    assert kinds.index(("activity", "running", "a")) < kinds.index(("activity", "success", "a"))
    assert kinds.index(("activity", "success", "a")) < kinds.index(("activity", "running", "b"))
    assert kinds[-2:] == [("instance", "success", None), ("job", "success", None)]
    assert len(kinds) == len(set(kinds))  # each state change once


async def test_stop_a_running_job(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Long", [start(), wait("w", 60), compare("after")]))
    async with running_server(dsn, poll_seconds=30) as _srv:
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)

        async def waiting() -> bool:
            async with pool.acquire() as conn:
                return bool(await conn.fetchval(
                    "SELECT 1 FROM activity_runs a JOIN jobs j ON j.instance_id = a.instance_id"
                    " WHERE j.id = $1 AND a.activity = 'w' AND a.status = 'running'",
                    uuid.UUID(job.id)))

        await eventually(waiting)
        async with pool.acquire() as conn:
            asked = await request_stop(conn, job.id)
            assert asked.status == "running" and asked.stop_requested_at is not None
            again = await request_stop(conn, job.id)  # a duplicate request is harmless
            assert again.stop_requested_at == asked.stop_requested_at
        # poll is 30 s: only the orch_stops notification can make this in time
        done = await wait_job(pool, job.id, timeout=10)
    assert done.status == "stopped"
    runs = await _runs(pool, done.instance_id or "")
    assert [(r["activity"], r["status"]) for r in runs] == [("start", "success"),
                                                           ("w", "stopped")]
    async with pool.acquire() as conn:
        with pytest.raises(Conflict):
            await request_stop(conn, job.id)
        with pytest.raises(NotFound):
            await request_stop(conn, str(uuid.uuid4()))


async def test_stop_a_queued_job_needs_no_server(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Q", [start(), compare("a")]))
        job = await start_job(conn, rb)
        stopped = await request_stop(conn, job.id)
    assert stopped.status == "stopped" and stopped.ended_at is not None


async def test_capacity_is_honoured_with_a_waiting_reason(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Slow", [start(), wait("w", 1.0)]))
    async with running_server(dsn, capacity=1, server_name="cap1") as srv:
        async with pool.acquire() as conn:
            first = await start_job(conn, rb)
            await eventually(lambda: _is(pool, first.id, "running"))
            second = await start_job(conn, rb)
        reason = await eventually(lambda: _reason(pool, second.id))
        assert reason == "server cap1 at capacity"
        assert srv.running_count == 1
        done = await wait_job(pool, second.id)
    assert done.status == "success" and done.waiting_reason is None


async def _is(pool: asyncpg.Pool, job_id: str, status: str) -> bool:
    return await _status(pool, job_id) == status


async def test_max_concurrent_jobs_is_honoured(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Two", [start(), wait("w", 0.5)],
                                              max_concurrent_jobs=2))
        jobs = [await start_job(conn, rb) for _ in range(5)]
    seen_max = 0
    async with running_server(dsn):
        async def all_done() -> bool:
            nonlocal seen_max
            async with pool.acquire() as conn:
                running = await conn.fetchval(
                    "SELECT count(*) FROM jobs WHERE runbook_id = $1 AND status = 'running'",
                    uuid.UUID(rb.id))
                left = await conn.fetchval(
                    "SELECT count(*) FROM jobs WHERE runbook_id = $1"
                    " AND status IN ('queued', 'running')", uuid.UUID(rb.id))
            seen_max = max(seen_max, running)
            return left == 0

        reason = await eventually(lambda: _reason(pool, jobs[-1].id))
        assert reason == "runbook at max_concurrent_jobs (2)"
        await eventually(all_done, timeout=30)
    assert seen_max == 2
    async with pool.acquire() as conn:
        statuses = await conn.fetch("SELECT status FROM jobs WHERE runbook_id = $1",
                                    uuid.UUID(rb.id))
    assert {r[0] for r in statuses} == {"success"}


async def test_monitor_rule_is_enforced_by_the_database(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Mon", [start(), compare("a")]))
        await conn.execute("UPDATE runbooks SET is_monitor = true WHERE id = $1",
                           uuid.UUID(rb.id))
        rb = type(rb)(**{**{f: getattr(rb, f) for f in rb.__struct_fields__},
                         "is_monitor": True})
        first = await start_job(conn, rb)
        with pytest.raises(Conflict):
            await start_job(conn, rb)
        # the index itself refuses it, whoever inserts
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO jobs (id, runbook_id, runbook_version, status, is_monitor)"
                " VALUES ($1, $2, 1, 'queued', true)", uuid.uuid4(), uuid.UUID(rb.id))
        await request_stop(conn, first.id)
        await start_job(conn, rb)  # the first one ended: a new one is allowed


async def test_a_missed_notification_is_caught_by_polling(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Poll", [start(), compare("a")]))
    async with running_server(dsn, poll_seconds=0.3) as srv:
        assert srv.listener is not None
        # Deafen the server: no listener at all, so only polling can find the job.
        srv.listener.on_notify = lambda channel, payload: None
        srv.listener.on_connect = lambda: None
        async with pool.acquire() as conn:
            killed = await conn.fetchval("SELECT pg_terminate_backend($1)",
                                         srv.listener.backend_pid)
            assert killed
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id, timeout=10)
    assert done.status == "success"


async def test_listener_reconnects_after_its_session_is_killed(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Relisten", [start(), compare("a")]))
    async with running_server(dsn, poll_seconds=30) as srv:
        assert srv.listener is not None
        old = srv.listener.backend_pid
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT pg_terminate_backend($1)", old)
        await eventually(_reconnected(srv, old))
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        done = await wait_job(pool, job.id, timeout=10)  # poll is 30 s: NOTIFY did it
    assert done.status == "success"


def _reconnected(srv, old):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        pid = srv.listener.backend_pid
        return pid is not None and pid != old

    return probe


async def test_child_job_is_picked_up_at_once(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await check_in(conn, runbook_doc(
            "Child", [start(["X"]), {"id": "ret", "type": "return_data",
                                     "properties": {"data": {"Y": "got {start.X}"}}}],
            returns=["Y"]))
        parent = await check_in(conn, runbook_doc(
            "Parent", [start(), {"id": "call", "type": "invoke_runbook",
                                 "properties": {"runbook": "/Tests/Child",
                                                "parameters": {"X": "7"}}},
                       {"id": "ret", "type": "return_data",
                        "properties": {"data": {"Z": "{call.Y}"}}}],
            returns=["Z"]))
    # Poll every 30 s: a child found only by polling would miss the 10 s deadline.
    async with running_server(dsn, poll_seconds=30):
        async with pool.acquire() as conn:
            job = await start_job(conn, parent)
        done = await wait_job(pool, job.id, timeout=10)
    assert done.status == "success"
    assert done.returned_data == {"Z": "got 7"}
    async with pool.acquire() as conn:
        child = await conn.fetchrow("SELECT status, parent_job_id::text AS p FROM jobs"
                                    " WHERE parent_job_id = $1", uuid.UUID(job.id))
    assert child["status"] == "success" and child["p"] == job.id


async def test_target_server_and_assignment(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Assigned", [start(), wait("w", 0.3)]))
        await conn.execute(
            "INSERT INTO runbook_servers (runbook_id, position, server_name)"
            " VALUES ($1, 0, 'primary'), ($1, 1, 'standby')", uuid.UUID(rb.id))
        free = await check_in(conn, runbook_doc("Free", [start(), compare("a")]))
        nowhere = await start_job(conn, free, target_server="ghost")
    async with (
        running_server(dsn, fast_settings(server_name="standby", capacity=10)),
        running_server(dsn, fast_settings(server_name="primary", capacity=1)),
        pool.acquire() as conn,
    ):
        a = await start_job(conn, rb)
        done_a = await wait_job(pool, a.id)
        assert done_a.server == "primary"  # the standby leaves it to the primary
        b = await start_job(conn, rb)
        await eventually(lambda: _is(pool, b.id, "running"))
        c = await start_job(conn, rb)  # primary full: the standby may take it
        done_b, done_c = await wait_job(pool, b.id), await wait_job(pool, c.id)
        assert {done_b.server, done_c.server} == {"primary", "standby"}
        reason = await eventually(lambda: _reason(pool, nowhere.id))
        assert reason == "server ghost is not available"


async def test_fencing_refuses_a_stale_owner(dsn: str, pool: asyncpg.Pool) -> None:
    from datetime import UTC, datetime

    from actors.store import InstanceRef, RunStart
    from orch.db.writer import GroupCommitWriter, OwnershipLost

    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Fence", [start(), compare("a")]))
        job = await start_job(conn, rb)
        rows = await conn.fetch("SELECT * FROM orch_claim_jobs('old', 10, 0, 30)")
        assert len(rows) == 1
        iid = str(rows[0]["instance_id"])
        await conn.execute("UPDATE instances SET epoch = 2, server = 'new' WHERE id = $1",
                           uuid.UUID(iid))
    writer = GroupCommitWriter(pool, "old")
    task = asyncio.create_task(writer.run())
    try:
        ref = InstanceRef(job_id=job.id, instance_id=iid, epoch=1)
        start_rec = RunStart(run_id=str(uuid.uuid4()), activity="a", parent_run=None, item=0,
                             started_at=datetime.now(UTC))
        fut = writer.submit_start(ref, start_rec, durable=True)
        assert fut is not None
        with pytest.raises(OwnershipLost):
            await fut
    finally:
        writer.close()
        await task
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity_runs") == 0


async def test_server_survives_losing_its_connections(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Resilient", [start(), compare("a"), compare("b")]))
    async with running_server(dsn, poll_seconds=0.3) as srv:
        async with pool.acquire() as conn:
            first = await start_job(conn, rb)
        assert (await wait_job(pool, first.id)).status == "success"
        async with pool.acquire() as conn:
            mine = await conn.fetchval("SELECT pg_backend_pid()")
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> $1", mine)
        assert killed >= 2  # the listener and the pool's connections
        async with pool.acquire() as conn:
            second = await start_job(conn, rb)
        done = await wait_job(pool, second.id, timeout=20)
        assert srv.running_count == 0
    assert done.status == "success"


async def test_the_listener_session_claims_without_a_pool_connection(
    dsn: str, pool: asyncpg.Pool
) -> None:
    """The notification's own session claims jobs and takes instances over (issue 21):
    no pool acquire, no reset round trip on the pickup path. With every other
    connection of the server's pool held here, a job is still claimed; it finishes
    once they are given back."""
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("ListenerClaim", [start(), compare("a")]))
    async with running_server(dsn, poll_seconds=30) as srv:
        assert srv.pool is not None and srv.listener is not None

        async def listening() -> bool:
            return srv.listener is not None and srv.listener.conn is not None

        await eventually(listening)
        held: list[asyncpg.Connection] = []
        try:
            while True:  # every connection the server's pool can still give
                try:
                    held.append(await srv.pool.acquire(timeout=0.5))
                except TimeoutError:
                    break
            async with pool.acquire() as conn:
                job = await start_job(conn, rb)

            async def claimed() -> bool:
                async with pool.acquire() as conn:
                    return await conn.fetchval(
                        "SELECT claimed_by FROM jobs WHERE id = $1",
                        uuid.UUID(job.id)) == srv.name

            await eventually(claimed, timeout=10)
        finally:
            for conn in held:
                await srv.pool.release(conn)
        done = await wait_job(pool, job.id, timeout=10)
    assert done.status == "success"
