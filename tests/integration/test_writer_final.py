"""The writer's last-record path (``write_final_run``): a lone instance's last run and
its outcome as one statement with plain parameters, writing exactly what
``write_batch`` writes for the same records (issue 21: unnesting fifteen arrays
cost a lone chain's last step more than its rows)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from actors.store import InstanceOutcome, InstanceRef, RunResult, RunStart
from orch.db.store import PgStore
from orch.db.writer import GroupCommitWriter, OwnershipLost
from orch.sql import Q
from tests.integration.helpers import lean_claimed_instance, running_writer

Write = Callable[[GroupCommitWriter, PgStore, InstanceRef], Awaitable[None]]


def _start(activity: str = "a") -> RunStart:
    return RunStart(run_id=str(uuid.uuid4()), activity=activity, parent_run=None, item=0,
                    started_at=datetime.now(UTC), lineage=b"\x02\x01")


def _result(s: RunStart, status: str = "success", error: str | None = None,
            returned: dict[str, str] | None = None) -> RunResult:
    return RunResult(run_id=s.run_id, activity=s.activity, status=status,  # type: ignore[arg-type]
                     published=[{"Status": status, "X": s.activity}],
                     ended_at=datetime.now(UTC), error=error, returned_data=returned)


def _outcome(status: str = "success", error: str | None = None) -> InstanceOutcome:
    return InstanceOutcome(status=status, returned_data={"R": "1"},  # type: ignore[arg-type]
                           ended_at=datetime.now(UTC), error=error)


async def _written(pool: asyncpg.Pool, ref: InstanceRef) -> dict[str, Any]:
    """What the database holds of the instance, without ids and clocks."""
    iid, jid = uuid.UUID(ref.instance_id), uuid.UUID(ref.job_id)
    async with pool.acquire() as conn:
        runs = await conn.fetch(
            "SELECT activity, item, attempt, status, published, returned_data, lineage, error,"
            "       ended_at IS NOT NULL AS ended FROM activity_runs WHERE instance_id = $1"
            " ORDER BY seq", iid)
        instance = await conn.fetchrow(
            "SELECT status, returned_data, error, ended_at IS NOT NULL AS ended"
            "  FROM instances WHERE id = $1", iid)
        job = await conn.fetchrow(
            "SELECT status, returned_data, retries, ended_at IS NOT NULL AS ended,"
            "       not_before IS NOT NULL AS waits FROM jobs WHERE id = $1", jid)
        events = await conn.fetch(
            "SELECT kind, activity, status, server, data, instance_id = $2 AS mine,"
            "       instance_id IS NULL AS no_instance, run_id IS NOT NULL AS has_run,"
            "       runbook_id IS NOT NULL AS has_runbook"
            "  FROM events WHERE job_id = $1 ORDER BY seq", jid, iid)
    retry_data = [e["data"] for e in events
                  if e["kind"] == "job" and e["data"] is not None and "retry" in e["data"]]
    return {
        "runs": [dict(r) for r in runs],
        "instance": dict(instance),
        "job": dict(job),
        # a retry's not_before is a clock: compare its presence, not its value
        "events": [{**dict(e), "data": None} if e["data"] in retry_data else dict(e)
                   for e in events],
        "retry_keys": [sorted(d) for d in retry_data],
    }


async def _both_ways(pool: asyncpg.Pool, write: Write,
                     retry: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The same records written for two lean-claimed instances: by the writer as it
    is, and by a writer whose last-record path is turned off (``write_batch``).
    Returns what each wrote (they must be equal) and the statements the first
    writer's session prepared."""
    fast_ref = await lean_claimed_instance(pool, retry)
    batch_ref = await lean_claimed_instance(pool, retry)
    counted = "SELECT running FROM servers WHERE name = 'w'"
    async with running_writer(pool, running_count=lambda: 2) as (writer, store):
        writer.claimed(fast_ref.instance_id)
        await write(writer, store, fast_ref)
        (conn,) = writer._conns
        prepared = [r["statement"] for r in await conn.fetch(
            "SELECT statement FROM pg_prepared_statements")]
        fast_running = await conn.fetchval(counted)
    async with running_writer(pool, running_count=lambda: 2) as (writer, store):
        writer._final = lambda _batch: None  # type: ignore[method-assign]
        writer.claimed(batch_ref.instance_id)
        await write(writer, store, batch_ref)
        batch_running = await writer._conns[0].fetchval(counted)
    fast = {**await _written(pool, fast_ref), "running": fast_running}
    batch = {**await _written(pool, batch_ref), "running": batch_running}
    assert fast == batch
    return fast, prepared


async def _start_result_outcome(_w: GroupCommitWriter, store: PgStore, ref: InstanceRef) -> None:
    a = _start()
    await store.record_run_start(ref, a, durable=False)
    await store.record_final_result(ref, _result(a, "failed", "boom", {"R": "1"}),
                                    _outcome("failed", "a: boom"))


async def test_a_start_its_result_and_the_outcome_are_written_as_by_a_batch(
    pool: asyncpg.Pool,
) -> None:
    written, prepared = await _both_ways(pool, _start_result_outcome)
    assert Q.write_final_run in prepared and Q.write_batch not in prepared
    assert [(e["kind"], e["activity"], e["status"]) for e in written["events"]] == [
        ("job", None, "queued"),
        ("job", None, "running"), ("instance", None, "running"),  # the lean claim's
        ("activity", "a", "running"), ("activity", "a", "failed"),
        ("instance", None, "failed"), ("job", None, "failed"),
    ]
    assert written["runs"][0]["returned_data"] == {"R": "1"}
    assert written["instance"]["error"] == "a: boom"
    assert written["running"] == 1  # the ending instance no longer counts


async def _durable_start_then_last(writer: GroupCommitWriter, store: PgStore,
                                   ref: InstanceRef) -> None:
    a = _start()
    await store.record_run_start(ref, a, durable=True)  # the claim's events go with it
    await store.record_final_result(ref, _result(a), _outcome())


async def test_a_result_whose_start_went_earlier_is_written_as_by_a_batch(
    pool: asyncpg.Pool,
) -> None:
    written, prepared = await _both_ways(pool, _durable_start_then_last)
    assert Q.write_final_run in prepared and Q.write_batch not in prepared
    assert [(e["kind"], e["status"]) for e in written["events"]][-4:] == [
        ("activity", "running"), ("activity", "success"),
        ("instance", "success"), ("job", "success")]
    assert (written["instance"]["status"], written["job"]["status"]) == ("success", "success")


async def test_a_failed_job_retried_by_its_policy_is_written_as_by_a_batch(
    pool: asyncpg.Pool,
) -> None:
    written, _ = await _both_ways(pool, _start_result_outcome,
                                  retry={"max_retries": 1, "backoff_seconds": 60})
    assert written["job"]["status"] == "queued" and written["job"]["retries"] == 1
    assert written["job"]["waits"]
    assert written["events"][-1]["kind"] == "job" and written["events"][-1]["status"] == "queued"
    assert written["retry_keys"] == [["not_before", "retry"]]


async def test_the_last_record_of_a_taken_over_instance_is_fenced(pool: asyncpg.Pool) -> None:
    ref = await lean_claimed_instance(pool)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE instances SET epoch = 2 WHERE id = $1",
                           uuid.UUID(ref.instance_id))
    async with running_writer(pool) as (_, store):
        with pytest.raises(OwnershipLost):
            await _start_result_outcome(_, store, ref)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity_runs") == 0
        assert await conn.fetchval("SELECT status FROM jobs WHERE id = $1",
                                   uuid.UUID(ref.job_id)) == "running"
