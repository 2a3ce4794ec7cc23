"""The claim reads the queue oldest first and stops at its limit, however long the queue.

A server's session calls the claim over and over, so PL/pgSQL settles on a
generic plan made without knowing the limit; without ``enable_sort = off`` on
the function that plan fetched every queued job and sorted them, on every
claim. Not a timing test: it counts the job rows the claim fetches (the
transaction's own statistics) — a handful, not the queue.
"""

from __future__ import annotations

import asyncpg

from orch.db.jobs import RunbookRow
from orch.sql import Q
from tests.integration.helpers import check_in, compare, runbook_doc

QUEUED = 2000
_JOBS = """
INSERT INTO jobs (id, runbook_id, runbook_version, status)
SELECT gen_random_uuid(), $1::uuid, 1, $3 FROM generate_series(1, $2)
"""


async def test_claim_function_keeps_sorting_off(conn: asyncpg.Connection) -> None:
    config = await conn.fetchval(
        "SELECT proconfig FROM pg_proc WHERE proname = 'orch_claim_jobs'")
    assert "enable_sort=off" in (config or [])


async def _server_and_runbook(conn: asyncpg.Connection, name: str) -> RunbookRow:
    """A runbook named ``name`` and server ``s1``, which has its activity types."""
    runbook = await check_in(conn, runbook_doc(name, [compare("a")]))
    types = await conn.fetchval(
        "SELECT array_agg(DISTINCT t) FROM runbook_versions, unnest(activity_types) AS t")
    await conn.execute(
        "INSERT INTO servers (name, status, capacity, activity_types)"
        " VALUES ('s1', 'up', 100000, $1)", types or [])
    return runbook


async def test_claiming_one_job_reads_a_handful_of_rows(conn: asyncpg.Connection) -> None:
    runbook = await _server_and_runbook(conn, "long queue")
    # A server's session claims again and again (PL/pgSQL then keeps a generic
    # plan, made without knowing the limit), then the queue fills up again.
    await conn.execute(_JOBS, runbook.id, QUEUED, "queued")
    while await conn.fetch(Q.claim_jobs, "s1", 50, 0, 30.0):
        pass
    await conn.execute("UPDATE jobs SET status = 'success', ended_at = now()")
    await conn.execute(_JOBS, runbook.id, QUEUED, "queued")
    async with conn.transaction():
        before = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_fetched('jobs'::regclass)")
        rows = await conn.fetch(Q.claim_jobs, "s1", 1, 0, 30.0)
        after = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_fetched('jobs'::regclass)")
    assert len(rows) == 1
    assert after - before < 20, f"the claim read {after - before} job rows for one job"


async def test_the_lean_claim_reads_a_handful_of_rows_too(conn: asyncpg.Connection) -> None:
    """``claim_jobs_fast`` is a plain statement (no ``SET enable_sort``): after enough
    executions for a generic plan, it must still walk the queue's index, not sort it."""
    runbook = await _server_and_runbook(conn, "long lean queue")
    await conn.execute(_JOBS, runbook.id, QUEUED, "queued")
    while await conn.fetch(Q.claim_jobs_fast, "s1", 50, 0):
        pass
    await conn.execute("UPDATE jobs SET status = 'success', ended_at = now()")
    await conn.execute(_JOBS, runbook.id, QUEUED, "queued")
    async with conn.transaction():
        before = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_fetched('jobs'::regclass)")
        rows = await conn.fetch(Q.claim_jobs_fast, "s1", 1, 0)
        after = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_fetched('jobs'::regclass)")
    assert len(rows) == 1 and rows[0]["job_id"] is not None
    assert after - before < 20, f"the lean claim read {after - before} job rows for one job"
