"""The group-commit writer: many instances, small batches, several in flight — order kept."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from actors.store import InstanceOutcome, InstanceRef, RunResult, RunStart
from orch.db.store import PgStore, load_plan
from orch.db.writer import GroupCommitWriter
from tests.integration.helpers import check_in, compare, runbook_doc, start, start_job


async def test_records_of_many_instances_are_all_written_in_order(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("W", [start(), compare("a")]))
        for _ in range(20):
            await start_job(conn, rb)
        await conn.execute(
            "INSERT INTO servers (name, status, capacity, activity_types)"
            " SELECT 'w', 'up', 99, array_agg(DISTINCT t)"
            "   FROM runbook_versions, unnest(activity_types) AS t")
        claimed = await conn.fetch("SELECT * FROM orch_claim_jobs('w', 50, 0, 30)")
    assert len(claimed) == 20
    writer = GroupCommitWriter(pool, "w", max_batch=7, max_inflight=3)
    store = PgStore(pool, writer)
    writer_task = asyncio.create_task(writer.run())

    async def instance(row: asyncpg.Record) -> None:
        ref = InstanceRef(job_id=str(row["job_id"]), instance_id=str(row["instance_id"]),
                          epoch=1)
        for k in range(10):
            run_id = str(uuid.uuid4())
            await store.record_run_start(ref, RunStart(
                run_id=run_id, activity=f"s{k}", parent_run=None, item=0,
                started_at=datetime.now(UTC), lineage=bytes([k])), durable=k % 3 == 0)
            await asyncio.sleep(0)
            await store.record_run_result(ref, RunResult(
                run_id=run_id, activity=f"s{k}", status="success",
                published=[{"Status": "success", "K": str(k)}], ended_at=datetime.now(UTC),
                returned_data={"K": str(k)} if k == 9 else None))
        await store.record_instance_outcome(ref, InstanceOutcome(
            status="success", returned_data={"Done": "yes"}, ended_at=datetime.now(UTC)))

    try:
        await asyncio.gather(*(instance(r) for r in claimed))
    finally:
        writer.close()
        await writer_task
    assert writer.batches > 20  # small batches, really batched
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM activity_runs WHERE status = 'success'") == 200
        assert await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE status = 'success'"
            " AND returned_data = '{\"Done\": \"yes\"}'") == 20
        events = await conn.fetch(
            "SELECT instance_id, kind, activity, status FROM events"
            " WHERE kind IN ('activity', 'instance') ORDER BY seq")
        plan = await load_plan(conn, str(claimed[0]["instance_id"]))
    per_instance: dict[uuid.UUID, list[tuple[str, str | None, str]]] = {}
    for e in events:
        per_instance.setdefault(e["instance_id"], []).append(
            (e["kind"], e["activity"], e["status"]))
    for seq in per_instance.values():
        expected = [("instance", None, "running")]
        for k in range(10):
            expected += [("activity", f"s{k}", "running"), ("activity", f"s{k}", "success")]
        expected.append(("instance", None, "success"))
        assert seq == expected
    assert [r.activity for r in plan.recorded] == [f"s{k}" for k in range(10)]
    assert plan.recorded[3].lineage == bytes([3])
    assert plan.recorded[9].returned_data == {"K": "9"}
    assert plan.recorded[0].published == [{"Status": "success", "K": "0"}]


async def test_a_batch_of_runs_keeps_every_field_through_its_json_document(
    pool: asyncpg.Pool,
) -> None:
    """A runs-only batch of several instances goes as one JSON document
    (``write_runs_json``, issue 21): every column comes back as it went in."""
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("J", [start(), compare("a")]))
        for _ in range(3):
            await start_job(conn, rb)
        await conn.execute(
            "INSERT INTO servers (name, status, capacity, activity_types)"
            " SELECT 'j', 'up', 99, array_agg(DISTINCT t)"
            "   FROM runbook_versions, unnest(activity_types) AS t")
        claimed = await conn.fetch("SELECT * FROM orch_claim_jobs('j', 50, 0, 30)")
    assert len(claimed) == 3
    writer = GroupCommitWriter(pool, "j")
    futures: list[asyncio.Future[None]] = []
    began = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    parent = str(uuid.uuid4())
    sent: dict[str, tuple[RunStart, RunResult]] = {}
    for k, row in enumerate(claimed):  # queued before the writer runs: one batch
        ref = InstanceRef(job_id=str(row["job_id"]), instance_id=str(row["instance_id"]),
                          epoch=1)
        run_id = str(uuid.uuid4())
        s = RunStart(run_id=run_id, activity=f"a{k}", parent_run=parent if k else None,
                     item=k, attempt=k + 1, started_at=began, lineage=bytes([0, k, 255]))
        r = RunResult(run_id=run_id, activity=f"a{k}", status="failed" if k == 1 else "success",
                      published=[{"Status": "x", "Quote": 'a "b" \\ é'}], ended_at=began,
                      error="boom ✗" if k == 1 else None,
                      returned_data={"K": str(k)} if k == 2 else None)
        sent[str(row["instance_id"])] = (s, r)
        writer.submit_start(ref, s, durable=False)
        futures.append(writer.submit_result(ref, r))
    writer_task = asyncio.create_task(writer.run())
    try:
        await asyncio.gather(*futures)
    finally:
        writer.close()
        await writer_task
    assert writer.batches == 1 and writer.records == 6
    async with pool.acquire() as conn:
        for instance_id, (s, r) in sent.items():
            [got] = (await load_plan(conn, instance_id)).recorded
            assert (got.run_id, got.activity, got.parent_run, got.item, got.attempt,
                    got.started_at, got.lineage) == (s.run_id, s.activity, s.parent_run,
                                                     s.item, s.attempt, began, s.lineage)
            assert (got.status, got.published, got.ended_at, got.error, got.returned_data) \
                == (r.status, r.published, began, r.error, r.returned_data)
            assert await conn.fetchval(
                "SELECT returned_data IS NULL FROM activity_runs WHERE run_id = $1",
                uuid.UUID(s.run_id)) == (r.returned_data is None)
