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
