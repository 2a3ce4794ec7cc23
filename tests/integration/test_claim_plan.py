"""The claim reads the queue oldest first and stops at its limit, however long the queue.

A server's session calls the claim over and over, so PL/pgSQL settles on a
generic plan made without knowing the limit; without ``enable_sort = off`` on
the function that plan fetched every queued job and sorted them, on every
claim. Not a timing test: it counts the job rows the claim fetches (the
transaction's own statistics) — a handful, not the queue.
"""

from __future__ import annotations

import asyncpg
import pytest

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


async def _claim(conn: asyncpg.Connection, claim: str, n: int) -> list[asyncpg.Record]:
    if claim == "lean":
        return await conn.fetch(Q.claim_jobs_fast, "s1", n, 0)
    return await conn.fetch(Q.claim_jobs, "s1", n, 0, 30.0)


@pytest.mark.parametrize("claim", ["function", "lean"])
async def test_claiming_one_job_reads_a_handful_of_rows(
    conn: asyncpg.Connection, claim: str,
) -> None:
    """Both claims: ``orch_claim_jobs`` (PL/pgSQL, ``SET enable_sort = off``) and the
    lean ``claim_jobs_fast`` (a plain statement, no such setting)."""
    runbook = await check_in(conn, runbook_doc(f"long queue {claim}", [compare("a")]))
    types = await conn.fetchval(
        "SELECT array_agg(DISTINCT t) FROM runbook_versions, unnest(activity_types) AS t")
    await conn.execute(
        "INSERT INTO servers (name, status, capacity, activity_types)"
        " VALUES ('s1', 'up', 100000, $1)", types or [])
    # A server's session claims again and again (PL/pgSQL, and a prepared
    # statement, then keep a generic plan, made without knowing the limit),
    # then the queue fills up again.
    await conn.execute(_JOBS, runbook.id, QUEUED, "queued")
    while await _claim(conn, claim, 50):
        pass
    await conn.execute("UPDATE jobs SET status = 'success', ended_at = now()")
    await conn.execute(_JOBS, runbook.id, QUEUED, "queued")
    async with conn.transaction():
        before = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_fetched('jobs'::regclass)")
        rows = await _claim(conn, claim, 1)
        after = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_fetched('jobs'::regclass)")
    assert len(rows) == 1 and rows[0]["job_id"] is not None
    assert after - before < 20, f"the claim read {after - before} job rows for one job"
