"""The group commit after a lost session: a fresh connection, never a released or read-only one.

After a failover the connections the writer keeps between batches are dead —
the pool already took them back ("connection has been released back to the
pool") — or, with a URL without ``target_session_attrs``, a new session may
land on a read-only standby. Either way the batch is written on a fresh
connection and nothing acknowledged is lost.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import asyncpg
from structlog.testing import capture_logs

from actors.store import InstanceRef, RunResult, RunStart
from orch.db.lost import Backoff, discard
from orch.db.store import PgStore
from tests.integration.helpers import claimed_instance, eventually, running_writer


def _run(activity: str) -> tuple[RunStart, RunResult]:
    s = RunStart(run_id=str(uuid.uuid4()), activity=activity, parent_run=None, item=0,
                 started_at=datetime.now(UTC), lineage=b"\x01")
    r = RunResult(run_id=s.run_id, activity=activity, status="success",
                  published=[{"Status": "success"}], ended_at=datetime.now(UTC))
    return s, r


async def _record(store: PgStore, ref: InstanceRef, activity: str) -> None:
    s, r = _run(activity)
    await store.record_run_start(ref, s, durable=True)
    await store.record_run_result(ref, r)


async def _runs(pool: asyncpg.Pool, ref: InstanceRef) -> list[str]:
    rows = await pool.fetch("SELECT activity FROM activity_runs WHERE instance_id = $1"
                            " AND status = 'success' ORDER BY seq", uuid.UUID(ref.instance_id))
    return [r[0] for r in rows]


async def test_a_kept_connection_that_died_idle_is_never_used(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    async with running_writer(pool) as (writer, store):
        await _record(store, ref, "a")
        (kept,) = writer._conns
        pid = kept.get_server_pid()
        async with pool.acquire() as admin:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)

        async def taken_back() -> bool:  # the pool noticed: the proxy is released
            try:
                return kept.is_closed()
            except asyncpg.InterfaceError:
                return True

        await eventually(taken_back, timeout=10)
        with capture_logs() as logs:
            await _record(store, ref, "b")
        # written at the first try, on a fresh connection: no "released back to the
        # pool" failure and retry
        assert [e for e in logs if e["event"] == "group commit failed, retrying"] == []
        assert writer._conns and writer._conns[0].get_server_pid() != pid
    assert await _runs(pool, ref) == ["a", "b"]


async def test_a_read_only_session_is_discarded_and_the_batch_retried(
    pool: asyncpg.Pool,
) -> None:
    """A session that reached a standby (here: made read-only) refuses the write; the
    writer throws that connection away — back in the pool it would be handed out
    again — and commits on a new one instead of failing the records."""
    ref = await claimed_instance(pool)
    async with running_writer(pool) as (writer, store):
        await _record(store, ref, "a")
        (kept,) = writer._conns
        await kept.execute("SET default_transaction_read_only = on")
        with capture_logs() as logs:
            await _record(store, ref, "b")
        failures = [e for e in logs if e["event"] == "group commit failed, retrying"]
        assert len(failures) == 1 and "read-only" in failures[0]["error"]
        with contextlib.suppress(asyncpg.InterfaceError):
            assert kept.is_closed()
        assert all(not c.is_closed() for c in writer._conns)
    assert await _runs(pool, ref) == ["a", "b"]
    # the pool hands out writable sessions only
    for _ in range(pool.get_max_size()):
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW default_transaction_read_only") == "off"


def test_backoff_doubles_up_to_its_bound() -> None:
    b = Backoff(0.05, 0.3)
    assert [b.next() for _ in range(5)] == [0.05, 0.1, 0.2, 0.3, 0.3]
    b.reset()
    assert b.next() == 0.05


async def test_discard_is_safe_on_released_and_closed_connections(pool: asyncpg.Pool) -> None:
    conn = await pool.acquire()
    await pool.release(conn)
    discard(conn)  # released: nothing to do, no error
    discard(None)
    conn = await pool.acquire()
    discard(conn)  # terminated: its slot is back in the pool
    async with pool.acquire() as again:
        assert await again.fetchval("SELECT 1") == 1
