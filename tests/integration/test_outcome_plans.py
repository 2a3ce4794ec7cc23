"""The runbook server's statements find instances and jobs by key, whatever the statistics say.

The group commit writer's statements fence and end the instances of a batch
(``live``: each owner's instance share-locked; ``ended_instances`` and
``ended_jobs``: ``UPDATE … FROM outcomes``); a takeover (``claim_instances``)
moves the instances it locked to its server; a release and a reconnect's
read-back of pushes (``release_instances``, ``pushed_unstarted``) read a
server's instances. Written with ``i.server = $1`` or ``status = 'running'`` as
restrictions, they let PostgreSQL drive them from this server's or the running
rows, and after an ANALYZE that saw few of those (a new server name, a quiet
moment) the estimate is one row: the plan then read every running row, or every
row of this server, once per outcome, owner or job — quadratic in the server's
concurrency — or the whole table once per batch; and a join of two CTEs (each
estimated at a row) is a nested loop over both (bench/RESULTS.md "Round seven":
793 running and 243 outcomes, 37 ms for one update; a 600-run batch, 104 ms
for its lock; throughput on a database with 24,000 ended instances 11–13k
steps/s before, 16–19k after). These tests take such statistics, plan the
statements both ways a prepared statement is planned (custom, then generic) and
count what the plans read and threw away.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from actors.store import InstanceOutcome, InstanceRef, RunResult, RunStart
from orch.db.writer import _OUTCOME, _RESULT, _START, GroupCommitWriter, _Op, _runs_json
from orch.sql import Q
from tests.integration.helpers import (
    check_in,
    compare,
    runbook_doc,
    server_w,
    start,
    start_job,
)

HISTORY = 600
"""Ended instances of another server, which the statistics see."""
RUNNING = 200
"""Instances of server ``w`` running, which they do not."""
BATCH = 100

PLANS = pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])


async def _running(conn: asyncpg.Connection) -> list[InstanceRef]:
    """RUNNING instances claimed by server ``w``, after an ANALYZE that saw only
    HISTORY ended instances of server ``v``."""
    rb = await check_in(conn, runbook_doc("Plans", [start(), compare("a")]))
    async with conn.transaction():
        for _ in range(HISTORY):
            await start_job(conn, rb)
    await server_w(conn, "v", capacity=HISTORY)
    assert len(await conn.fetch(Q.claim_jobs_fast, "v", HISTORY, 0)) == HISTORY
    await conn.execute("UPDATE jobs SET status = 'success', ended_at = now()")
    await conn.execute("UPDATE instances SET status = 'success', ended_at = now()")
    await conn.execute("ANALYZE jobs")
    await conn.execute("ANALYZE instances")
    async with conn.transaction():
        for _ in range(RUNNING):
            await start_job(conn, rb)
    await server_w(conn, "w", capacity=RUNNING)
    rows = await conn.fetch(Q.claim_jobs_fast, "w", RUNNING, 0)
    assert len(rows) == RUNNING
    return [InstanceRef(job_id=str(r["job_id"]), instance_id=str(r["instance_id"]), epoch=1)
            for r in rows]


async def _explain(
    conn: asyncpg.Connection, mode: str, sql: str, args: list[Any]
) -> dict[str, Any]:
    """Run ``sql`` under EXPLAIN ANALYZE, planned as ``mode`` says."""
    await conn.execute(f"SET plan_cache_mode = {mode}")
    (row,) = await conn.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    doc = row[0]
    return (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for p in plan.get("Plans", []) for n in _nodes(p))]


def _read_per_row(plan: dict[str, Any]) -> int:
    """Rows read and thrown away over the whole plan: by joins, and by scans of
    instances or jobs other than by key (a scan of this server's or the running
    rows, or of the whole table, per outcome or owner or once)."""
    total = 0
    for node in _nodes(plan):
        loops = int(node.get("Actual Loops", 1))
        total += int(node.get("Rows Removed by Join Filter", 0)) * loops
        if (node.get("Relation Name") in ("instances", "jobs")
                and node.get("Index Name") not in ("instances_pkey", "jobs_pkey")):
            total += int(node.get("Rows Removed by Filter", 0)) * loops
    return total


def _batch(pool: asyncpg.Pool, refs: list[InstanceRef], *, outcomes: bool) -> list[Any]:
    """``write_batch``'s parameters for a batch of one run (started and ended) of
    each instance, with its outcome when ``outcomes``, as server ``w``'s writer
    builds them."""
    return GroupCommitWriter(pool, "w")._arguments(_ops(refs, outcomes=outcomes))


def _ops(refs: list[InstanceRef], *, outcomes: bool) -> list[_Op]:
    now = datetime.now(UTC)
    ops = []
    for ref in refs:
        s = RunStart(run_id=str(uuid.uuid4()), activity="a", parent_run=None, item=0,
                     started_at=now, lineage=b"")
        ops.append(_Op(_START, ref, s, None, False))
        ops.append(_Op(_RESULT, ref, RunResult(
            run_id=s.run_id, activity="a", status="success", published=[], ended_at=now,
            error=None), None, False))
        if outcomes:
            ops.append(_Op(_OUTCOME, ref, InstanceOutcome(
                status="success", returned_data={}, ended_at=now), None, False))
    return ops


@PLANS
async def test_a_batch_of_outcomes_reads_no_row_per_outcome(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    async with pool.acquire() as conn:
        refs = await _running(conn)
        plan = await _explain(conn, plan_cache_mode, Q.write_batch,
                              _batch(pool, refs[:BATCH], outcomes=True))
        ended = await conn.fetchval(
            "SELECT count(*) FROM jobs j JOIN instances i ON i.id = j.instance_id"
            " WHERE j.status = 'success' AND i.status = 'success' AND i.server = 'w'")
    assert ended == BATCH
    # driven from the running rows: 200 × 100 = 20,000 rows per update
    assert _read_per_row(plan) < RUNNING


@PLANS
async def test_a_batch_of_runs_reads_no_row_per_owner(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    async with pool.acquire() as conn:
        args = _batch(pool, (await _running(conn))[:BATCH], outcomes=False)
        assert not args[18] and not args[26]  # runs only: write_runs_json's case
        plan = await _explain(conn, plan_cache_mode, Q.write_runs_json,
                              [*args[:3], _runs_json(args[3:18]), *args[33:]])
        written = await conn.fetchval("SELECT count(*) FROM activity_runs")
    assert written == BATCH
    assert _read_per_row(plan) < RUNNING


@PLANS
async def test_a_lone_last_run_reads_no_other_running_row(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    async with pool.acquire() as conn:
        (ref, *_) = await _running(conn)
        now = datetime.now(UTC)
        args = ["w", ref.instance_id, 1, str(uuid.uuid4()), "a", None, 0, 1, "success",
                "[]", b"", now, now, None, 0, None, False, "success", "{}", now, None, None]
        plan = await _explain(conn, plan_cache_mode, Q.write_final_run, args)
        status = await conn.fetchval("SELECT status FROM jobs WHERE id = $1",
                                     uuid.UUID(ref.job_id))
    assert status == "success"
    assert _read_per_row(plan) < RUNNING


@PLANS
async def test_a_takeover_reads_no_running_row_per_instance(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    """A server taking over a dead one's instances (claim_instances) finds each by
    key: RUNNING of them, after the same statistics."""
    async with pool.acquire() as conn:
        await _running(conn)
        await conn.execute("UPDATE servers SET status = 'down' WHERE name = 'w'")
        await server_w(conn, "x", capacity=RUNNING)
        plan = await _explain(conn, plan_cache_mode, Q.claim_instances, ["x", BATCH, 30.0])
        taken = await conn.fetchval("SELECT count(*) FROM instances WHERE server = 'x'")
    assert taken == BATCH
    assert _read_per_row(plan) < RUNNING


@PLANS
async def test_the_read_back_of_pushes_reads_no_running_row_per_job(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    """At a reconnect a server reads back the jobs pushed to it it never started
    (pushed_unstarted): each job's instance by key, not among its running ones."""
    async with pool.acquire() as conn:
        await _running(conn)  # lean-claimed: no claim events yet, like unstarted pushes
        plan = await _explain(conn, plan_cache_mode, Q.pushed_unstarted, ["w"])
    assert plan["Actual Rows"] == RUNNING
    # one row a job: its 'queued' event, which the NOT EXISTS reads and drops
    # (reading the running instances per job: 200 × 200 = 40,000)
    assert _read_per_row(plan) <= RUNNING


@PLANS
async def test_a_release_reads_no_row_per_instance(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    """A server handing instances over (release_instances) writes each one's event
    with its job's runbook read by key."""
    async with pool.acquire() as conn:
        refs = await _running(conn)
        plan = await _explain(conn, plan_cache_mode, Q.release_instances,
                              ["w", [uuid.UUID(r.instance_id) for r in refs[:BATCH]]])
        released = await conn.fetchval("SELECT count(*) FROM instances WHERE server IS NULL")
    assert released == BATCH
    assert _read_per_row(plan) < RUNNING


@PLANS
async def test_results_of_runs_started_before_a_takeover_read_no_row_per_result(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    """Results whose runs an earlier owner started (write_batch's partial results)
    get their events from the update itself, not a join of two CTEs."""
    async with pool.acquire() as conn:
        refs = (await _running(conn))[:BATCH]
        ops = _ops(refs, outcomes=False)
        starts = GroupCommitWriter(pool, "w")._arguments([o for o in ops if o.kind == _START])
        await conn.fetch(Q.write_batch, *starts)
        args = GroupCommitWriter(pool, "w")._arguments([o for o in ops if o.kind == _RESULT])
        assert len(args[18]) == BATCH  # results of runs whose start this writer never saw
        plan = await _explain(conn, plan_cache_mode, Q.write_batch, args)
        ended = await conn.fetchval(
            "SELECT count(*) FROM events WHERE kind = 'activity' AND status = 'success'")
    assert ended == BATCH
    assert _read_per_row(plan) < RUNNING


@PLANS
async def test_a_restart_releases_its_instances_reading_no_row_per_instance(
    pool: asyncpg.Pool, plan_cache_mode: str,
) -> None:
    """A server starting again under its name releases what its previous process
    left running (release_previous_life): each one's event with its job's runbook
    read by key."""
    async with pool.acquire() as conn:
        await _running(conn)
        plan = await _explain(conn, plan_cache_mode, Q.release_previous_life, ["w"])
        released = await conn.fetchval("SELECT count(*) FROM instances WHERE server IS NULL")
    assert released == RUNNING
    assert _read_per_row(plan) < RUNNING
