"""The writer's one-run path (``write_run``): the same rows, events and fencing as a batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest

from actors.store import InstanceOutcome, RunResult, RunStart
from orch.db.store import load_plan
from orch.db.writer import OwnershipLost
from orch.sql import Q
from tests.integration.helpers import claimed_instance, lean_claimed_instance, running_writer


def _start(activity: str) -> RunStart:
    return RunStart(run_id=str(uuid.uuid4()), activity=activity, parent_run=None, item=0,
                    started_at=datetime.now(UTC), lineage=b"\x01")


def _result(s: RunStart, status: str = "success", error: str | None = None) -> RunResult:
    return RunResult(run_id=s.run_id, activity=s.activity, status=status,  # type: ignore[arg-type]
                     published=[{"Status": status, "X": s.activity}],
                     ended_at=datetime.now(UTC), error=error)


async def test_one_run_at_a_time_writes_rows_and_events_in_order(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    batches: list[int] = []
    async with running_writer(pool, batches) as (_, store):
        a = _start("a")  # a start and its result in one batch
        await store.record_run_start(ref, a, durable=False)
        await store.record_run_result(ref, _result(a))
        b = _start("b")  # a durable start alone, then its result alone
        await store.record_run_start(ref, b, durable=True)
        await store.record_run_result(ref, _result(b, "failed", "boom"))
        await store.record_instance_outcome(ref, InstanceOutcome(
            status="failed", returned_data={}, ended_at=datetime.now(UTC), error="b: boom"))
    assert batches == [2, 1, 1, 1]
    async with pool.acquire() as conn:
        plan = await load_plan(conn, ref.instance_id)
        events = await conn.fetch(
            "SELECT kind, activity, status, data FROM events WHERE instance_id = $1"
            " AND kind IN ('instance', 'activity') ORDER BY seq", uuid.UUID(ref.instance_id))
    assert [(r.activity, r.status, r.error) for r in plan.recorded] == [
        ("a", "success", None), ("b", "failed", "boom")]
    assert plan.recorded[0].published == [{"Status": "success", "X": "a"}]
    assert plan.recorded[1].lineage == b"\x01"
    assert [(e["kind"], e["activity"], e["status"]) for e in events] == [
        ("instance", None, "running"),
        ("activity", "a", "running"), ("activity", "a", "success"),
        ("activity", "b", "running"), ("activity", "b", "failed"),
        ("instance", None, "failed"),
    ]
    assert events[4]["data"] == {"error": "boom"}


async def test_the_claim_events_go_with_the_first_run_only(pool: asyncpg.Pool) -> None:
    """A lean-claimed instance's first run goes as write_claimed_run (the claim's
    'job' and 'instance' events first); its next runs as write_run, the plain
    statement with the run's two events alone."""
    ref = await lean_claimed_instance(pool)
    batches: list[int] = []
    async with running_writer(pool, batches) as (writer, store):
        writer.claimed(ref.instance_id)
        for name in ("a", "b", "c"):
            run = _start(name)
            await store.record_run_start(ref, run, durable=False)
            await store.record_run_result(ref, _result(run))
        (conn,) = writer._conns
        prepared = {r["statement"] for r in await conn.fetch(
            "SELECT statement FROM pg_prepared_statements")}
    assert batches == [2, 2, 2]
    assert Q.write_claimed_run in prepared and Q.write_run in prepared
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT kind, activity, status FROM events WHERE job_id = $1 ORDER BY seq",
            uuid.UUID(ref.job_id))
    assert [(e["kind"], e["activity"], e["status"]) for e in events] == [
        ("job", None, "queued"), ("job", None, "running"), ("instance", None, "running"),
        ("activity", "a", "running"), ("activity", "a", "success"),
        ("activity", "b", "running"), ("activity", "b", "success"),
        ("activity", "c", "running"), ("activity", "c", "success"),
    ]


async def test_a_claimed_first_run_of_a_taken_over_instance_is_fenced(
    pool: asyncpg.Pool,
) -> None:
    """write_claimed_run fences like write_run: neither the run nor the claim's
    events of an instance taken over meanwhile are written."""
    ref = await lean_claimed_instance(pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE instances SET epoch = 2 WHERE id = $1",
                           uuid.UUID(ref.instance_id))
    async with running_writer(pool) as (writer, store):
        writer.claimed(ref.instance_id)
        a = _start("a")
        await store.record_run_start(ref, a, durable=False)
        with pytest.raises(OwnershipLost):
            await store.record_run_result(ref, _result(a))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity_runs") == 0
        assert await conn.fetchval(
            "SELECT count(*) FROM events WHERE job_id = $1 AND status = 'running'",
            uuid.UUID(ref.job_id)) == 0


async def test_one_run_of_a_taken_over_instance_is_fenced(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE instances SET epoch = 2 WHERE id = $1",
                           uuid.UUID(ref.instance_id))
    async with running_writer(pool) as (_, store):
        a = _start("a")
        await store.record_run_start(ref, a, durable=False)
        with pytest.raises(OwnershipLost):
            await store.record_run_result(ref, _result(a))
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity_runs") == 0


async def test_the_last_result_and_the_outcome_are_one_commit(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    batches: list[int] = []
    async with running_writer(pool, batches) as (_, store):
        a = _start("a")
        await store.record_run_start(ref, a, durable=True)
        await store.record_final_result(ref, _result(a), InstanceOutcome(
            status="success", returned_data={"R": "1"}, ended_at=datetime.now(UTC)))
    assert batches == [1, 2]
    iid = uuid.UUID(ref.instance_id)
    async with pool.acquire() as conn:
        run_xmin = await conn.fetchval(
            "SELECT xmin::text FROM activity_runs WHERE run_id = $1", uuid.UUID(a.run_id))
        row = await conn.fetchrow(
            "SELECT i.xmin::text AS xmin, i.status, j.status AS job_status, j.returned_data"
            "  FROM instances i JOIN jobs j ON j.id = i.job_id WHERE i.id = $1", iid)
        events = await conn.fetch(
            "SELECT kind, activity, status FROM events WHERE job_id = $1 ORDER BY seq",
            uuid.UUID(ref.job_id))
    assert run_xmin == row["xmin"]  # written by the same transaction
    assert (row["status"], row["job_status"], row["returned_data"]) == (
        "success", "success", {"R": "1"})
    assert [(e["kind"], e["activity"], e["status"]) for e in events][-4:] == [
        ("activity", "a", "running"), ("activity", "a", "success"),
        ("instance", None, "success"), ("job", None, "success"),
    ]


async def test_a_refused_last_result_leaves_the_instance_running(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    async with running_writer(pool) as (_, store):
        a = _start("a")
        await store.record_run_start(ref, a, durable=False)
        bad = msgspec.structs.replace(_result(a), published=[{"X": "nul \u0000 byte"}])
        with pytest.raises(asyncpg.PostgresError):  # jsonb takes no \u0000
            await store.record_final_result(ref, bad, InstanceOutcome(
                status="success", returned_data={}, ended_at=datetime.now(UTC)))
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT i.status, j.status AS job_status FROM instances i"
            "  JOIN jobs j ON j.id = i.job_id WHERE i.id = $1", uuid.UUID(ref.instance_id))
        runs = await conn.fetch("SELECT status FROM activity_runs")
    # the start (same batch, written on its own) stays; no outcome after a refused result
    assert (row["status"], row["job_status"]) == ("running", "running")
    assert [r["status"] for r in runs] == ["running"]


async def test_a_taken_over_instance_gets_neither_last_result_nor_outcome(
    pool: asyncpg.Pool,
) -> None:
    ref = await claimed_instance(pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE instances SET epoch = 2 WHERE id = $1",
                           uuid.UUID(ref.instance_id))
    async with running_writer(pool) as (_, store):
        a = _start("a")
        await store.record_run_start(ref, a, durable=False)
        with pytest.raises(OwnershipLost):
            await store.record_final_result(ref, _result(a), InstanceOutcome(
                status="success", returned_data={}, ended_at=datetime.now(UTC)))
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT i.status, j.status AS job_status FROM instances i"
            "  JOIN jobs j ON j.id = i.job_id WHERE i.id = $1", uuid.UUID(ref.instance_id))
        assert await conn.fetchval("SELECT count(*) FROM activity_runs") == 0
    assert (row["status"], row["job_status"]) == ("running", "running")
