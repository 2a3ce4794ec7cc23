"""Activity runs and their instance (migration 0018): no foreign key checks each
run's insert — every statement writing a run joins its instance row, locked —
and deleting instances (a job's purge, a runbook's deletion) still deletes
their runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from actors.store import InstanceRef, RunResult, RunStart
from orch.db.store import PgStore
from orch.db.writer import OwnershipLost
from tests.integration.helpers import (
    check_in,
    compare,
    runbook_doc,
    running_writer,
    server_w,
    start,
    start_job,
)


async def _claimed(pool: asyncpg.Pool, jobs: int) -> list[InstanceRef]:
    """``jobs`` jobs of one runbook, claimed by server ``w``."""
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Rows", [start(), compare("a")]))
        for _ in range(jobs):
            await start_job(conn, rb)
        await server_w(conn)
        rows = await conn.fetch("SELECT * FROM orch_claim_jobs('w', $1, 0, 30)", jobs)
    return [InstanceRef(job_id=str(r["job_id"]), instance_id=str(r["instance_id"]), epoch=1)
            for r in rows]


async def _two_runs(store: PgStore, ref: InstanceRef) -> None:
    for activity in ("start", "a"):
        run = RunStart(run_id=str(uuid.uuid4()), activity=activity, parent_run=None, item=0,
                       started_at=datetime.now(UTC), lineage=b"\x01")
        await store.record_run_start(ref, run, durable=True)
        await store.record_run_result(ref, RunResult(
            run_id=run.run_id, activity=activity, status="success", published=[],
            ended_at=datetime.now(UTC)))


async def _runs(pool: asyncpg.Pool, ref: InstanceRef) -> int:
    return await pool.fetchval("SELECT count(*) FROM activity_runs WHERE instance_id = $1",
                               uuid.UUID(ref.instance_id))


async def test_deleting_instances_deletes_their_runs(pool: asyncpg.Pool) -> None:
    first, second, third = await _claimed(pool, 3)
    async with running_writer(pool) as (_, store):
        for ref in (first, second, third):
            await _two_runs(store, ref)
    assert [await _runs(pool, r) for r in (first, second, third)] == [2, 2, 2]
    # a job's delete (the purge's) cascades to its instances, and from them to the runs
    await pool.execute("DELETE FROM jobs WHERE id = $1", uuid.UUID(first.job_id))
    assert [await _runs(pool, r) for r in (first, second, third)] == [0, 2, 2]
    # an instance deleted by itself takes its runs too, and only its own
    await pool.execute("DELETE FROM instances WHERE id = $1", uuid.UUID(second.instance_id))
    assert [await _runs(pool, r) for r in (first, second, third)] == [0, 0, 2]


async def test_no_run_is_written_for_an_instance_that_is_gone(pool: asyncpg.Pool) -> None:
    (ref,) = await _claimed(pool, 1)
    await pool.execute("DELETE FROM instances WHERE id = $1", uuid.UUID(ref.instance_id))
    async with running_writer(pool) as (_, store):
        with pytest.raises(OwnershipLost):
            await _two_runs(store, ref)
    assert await _runs(pool, ref) == 0
    assert await pool.fetchval("SELECT count(*) FROM activity_runs") == 0
