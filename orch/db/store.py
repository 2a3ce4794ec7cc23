"""The PostgreSQL :class:`actors.store.Store`: durable records through the group-commit writer.

Every call that must be durable awaits its record's commit; a non-durable run
start returns at once and rides along with the next batch. Cancelling a caller
(hand-over) never withdraws its record: once submitted, a record is written
whether anyone still waits for it (the server flushes the writer before it
releases the instances). The outcome's wait is also shielded, as a reminder
that the final write is never cut short.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import msgspec

from actors.store import (
    InstanceOutcome,
    InstancePlan,
    InstanceRef,
    RecordedRun,
    RunResult,
    RunStart,
)
from orch.db.writer import GroupCommitWriter
from orch.errors import NotFound
from orch.masking import SECRETS
from orch.sql import Q

__all__ = ["PgStore", "load_plan"]


class PgStore:
    """Store for every instance of one runbook server (one writer, shared)."""

    def __init__(self, pool: asyncpg.Pool, writer: GroupCommitWriter) -> None:
        self.pool = pool
        self.writer = writer

    async def load_instance(self, instance_id: str) -> InstancePlan:
        async with self.pool.acquire() as conn:
            return await load_plan(conn, instance_id)

    async def record_run_start(self, ref: InstanceRef, start: RunStart, *, durable: bool) -> None:
        fut = self.writer.submit_start(ref, start, durable=durable)
        if fut is not None:
            await fut

    async def record_run_result(self, ref: InstanceRef, result: RunResult) -> None:
        await self.writer.submit_result(ref, _masked_result(result))

    async def record_instance_outcome(self, ref: InstanceRef, outcome: InstanceOutcome) -> None:
        await asyncio.shield(self.writer.submit_outcome(ref, _masked_outcome(outcome)))

    async def record_final_result(
        self, ref: InstanceRef, result: RunResult, outcome: InstanceOutcome
    ) -> None:
        # Submitted back to back (no await between), so the writer takes both
        # into one batch: one commit fewer per instance. A refused result
        # fails the outcome queued after it (see GroupCommitWriter._write).
        written = self.writer.submit_result(ref, _masked_result(result))
        ended = self.writer.submit_outcome(ref, _masked_outcome(outcome))
        try:
            await written
        except BaseException:
            ended.add_done_callback(_retrieve)  # failed with it, or written: nobody waits
            raise
        await asyncio.shield(ended)


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _masked_result(result: RunResult) -> RunResult:
    """Decrypted secrets never reach the database (nor the events)."""
    if not SECRETS:
        return result
    return msgspec.structs.replace(
        result, published=SECRETS.mask_value(result.published),
        error=SECRETS.mask_value(result.error),
        returned_data=SECRETS.mask_value(result.returned_data))


def _masked_outcome(outcome: InstanceOutcome) -> InstanceOutcome:
    if not SECRETS:
        return outcome
    return msgspec.structs.replace(
        outcome, returned_data=SECRETS.mask_value(outcome.returned_data),
        error=SECRETS.mask_value(outcome.error))


async def load_plan(
    conn: asyncpg.Connection, instance_id: str, *, server: str | None = None
) -> InstancePlan:
    """Everything to run or resume an instance: pinned version, parameters, recorded runs."""
    iid = uuid.UUID(instance_id)
    row = await conn.fetchrow(Q.load_instance, iid)
    if row is None:
        raise NotFound(f"no instance {instance_id}")
    runs = await conn.fetch(Q.load_runs, iid)
    recorded = [
        RecordedRun(
            run_id=r["run_id"],
            activity=r["activity"],
            parent_run=r["parent_run"],
            item=r["item"],
            attempt=r["attempt"],
            started_at=r["started_at"],
            lineage=bytes(r["lineage"]),
            status=r["status"],
            published=r["published"],
            ended_at=r["ended_at"],
            error=r["error"],
            returned_data=r["returned_data"],
        )
        for r in runs
    ]
    return InstancePlan(
        ref=InstanceRef(job_id=row["job_id"], instance_id=row["instance_id"], epoch=row["epoch"]),
        runbook_id=row["runbook_id"],
        runbook_name=row["runbook_name"],
        runbook_path=row["runbook_path"],
        runbook_version=row["runbook_version"],
        document=row["document"].encode(),
        parameters={k: str(v) for k, v in (row["parameters"] or {}).items()},
        server=server if server is not None else (row["server"] or ""),
        recorded=recorded,
        started_by=row["started_by"],
    )


