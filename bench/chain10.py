"""chain10: 10 sequential compare_values, each result durable before the next starts.

Latency: ``--sequential`` instances one at a time; an instance's latency is
from its claim (instance start) to its outcome (both recorded by the server) —
the idle server is pushed each job (orch/server/pushes.py), so its claim is
the start's own insert and the start's commit counts; ``activities_p50_ms`` is
from the first activity's start to the outcome; ``job_p50_ms`` is from the
job's insert to its end (pickup included).
Throughput: ``--concurrent`` jobs committed at once; durable activity results
per second from the first activity start to the last activity end, with the
CPU time the server and PostgreSQL spent per result. ``--floor``: before each
sequential instance, ten durable INSERT + COMMIT on a bare table in the same
database (floor.py's ``chain10_ms``, interleaved: the ratio is of the same
moments); after the run, orch's step statement (``write_run``) ten in a row
against the same bare commits. ``--history N``: first N chain10 jobs run to
their end (1,000 at a time) and ANALYZE, so the workloads meet tables and
statistics as a server that has run a while has them (a fresh database flatters:
every index fits in the CPU's caches, and no statistics exist to mislead a
plan). Prints one JSON line.

    python bench/chain10.py [--sequential 200] [--concurrent 1000] [--floor] [--history 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from _common import (
    FINAL,
    Waker,
    check_in,
    cpu_seconds,
    create_pool,
    database,
    insert_jobs,
    median,
    percentile,
    postgres_cpu_seconds,
    postmaster_pid,
    server_process,
    settings_of,
    wait_jobs,
)

from orch.db.jobs import create_job
from orch.sql import Q

STEPS = 10
DOC = {
    "format": "orch.runbook/1",
    "name": "bench chain10",
    "folder": "/Bench",
    "activities": [
        {"id": f"c{i}", "type": "compare_values", "properties": {"value": "x", "to": "x"}}
        for i in range(1, STEPS + 1)
    ],
    "links": [{"from": f"c{i}", "to": f"c{i + 1}"} for i in range(1, STEPS)],
}


FLOOR_SETUP = """
CREATE TABLE IF NOT EXISTS bench_floor_rows (id bigserial PRIMARY KEY, run uuid NOT NULL,
                                             status text NOT NULL, data jsonb NOT NULL,
                                             at timestamptz NOT NULL)
"""
FLOOR_INSERT = ("INSERT INTO bench_floor_rows (run, status, data, at)"
                " VALUES ($1, 'success', '{}', now())")


async def floor_chain(conn: asyncpg.Connection) -> float:
    """Ten durable INSERT + COMMIT in a row (floor.py's chain10_ms), in ms."""
    began = time.perf_counter()
    for _ in range(STEPS):
        await conn.execute(FLOOR_INSERT, uuid.uuid4())
    return (time.perf_counter() - began) * 1000


async def step_statements(conn: asyncpg.Connection, runbook: Any, rounds: int) -> list[float]:
    """Ten of orch's step statements in a row as the group commit writer sends a
    chain10's (``write_run``: the run row, its two events, the fencing lock; the
    first notifying, the others quiet; the tenth ``write_final_run``, with the
    instance's and the job's end), ms per ten — the SQL share of a chain10, with
    no Python, measured with the runbook server stopped."""
    job = await create_job(conn, runbook=runbook, parameters={}, created_by=None)
    instance = str(uuid.uuid4())
    await conn.execute("INSERT INTO instances (id, job_id, server, epoch, status)"
                       " VALUES ($1, $2, 'bench-floor', 1, 'running')",
                       uuid.UUID(instance), uuid.UUID(job.id))
    await conn.execute("UPDATE jobs SET status = 'running', instance_id = $2 WHERE id = $1",
                       uuid.UUID(job.id), uuid.UUID(instance))
    out = []
    for _ in range(rounds):
        began = time.perf_counter()
        for i in range(STEPS):
            now = datetime.now(UTC)
            run = ("bench-floor", instance, 1, str(uuid.uuid4()), f"c{i + 1}", None, 0, 1,
                   "success", msgspec.Raw(b"[]"), b"", now, now, None, 0)
            if i < STEPS - 1:
                fenced = await conn.fetchval(Q.write_run, *run, 1, None, i > 0)
            else:  # the last: the run and the instance's outcome
                fenced = await conn.fetchval(Q.write_final_run, *run, None, False, "success",
                                             msgspec.Raw(b"{}"), now, None, 0)
            assert not fenced
        out.append((time.perf_counter() - began) * 1000)
    return out


async def run_history(conn: asyncpg.Connection, waker: Waker, watch: asyncpg.Connection,
                      runbook: Any, jobs: int, wave: int) -> None:
    """``jobs`` chain10 jobs run to their end first, ``wave`` at a time, then ANALYZE:
    the tables and their statistics as a server that has run for a while has them
    (orch keeps finished jobs, runs and events until their retention ends)."""
    done = 0
    while done < jobs:
        n = min(wave, jobs - done)
        await insert_jobs(conn, runbook, n)
        done += n
        await wait_jobs(waker, watch, runbook.id, done)
    await conn.execute("ANALYZE")


async def main(
    sequential: int, concurrent: int, floor: bool = False, history: int = 0
) -> dict[str, Any]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            seq_rb = await check_in(pool, DOC)
            par_rb = await check_in(pool, DOC)
            old_rb = await check_in(pool, DOC) if history else None
            async with server_process(dsn, f"bench-chain-{uuid.uuid4().hex[:6]}") as proc, \
                    pool.acquire() as conn, pool.acquire() as watch, Waker(watch) as waker:
                if history:
                    await run_history(conn, waker, watch, old_rb, history, max(concurrent, 1000))
                if floor:
                    await conn.execute(FLOOR_SETUP)
                floors: list[float] = []
                for _ in range(sequential):
                    if floor:  # interleaved: the floor at the same moment as each instance
                        floors.append(await floor_chain(conn))
                    job = await create_job(conn, runbook=seq_rb, parameters={},
                                           created_by=None)
                    jid = uuid.UUID(job.id)

                    async def ended(jid: uuid.UUID = jid) -> bool:
                        return await watch.fetchval(
                            "SELECT status FROM jobs WHERE id = $1", jid) in FINAL

                    await waker.until(ended, timeout=60, every=0.005, quiet=0.01)
                rows = await watch.fetch(
                    "SELECT extract(epoch FROM i.ended_at - i.started_at) * 1000 AS ms,"
                    "       extract(epoch FROM j.ended_at - j.created_at) * 1000 AS job_ms,"
                    "       extract(epoch FROM i.ended_at - (SELECT min(a.started_at)"
                    "         FROM activity_runs a WHERE a.instance_id = i.id)) * 1000 AS runs_ms,"
                    "       j.status FROM jobs j JOIN instances i ON i.id = j.instance_id"
                    " WHERE j.runbook_id = $1", uuid.UUID(seq_rb.id))
                assert all(r["status"] == "success" for r in rows), "a chain10 job failed"
                latencies = [float(r["ms"]) for r in rows]
                job_latencies = [float(r["job_ms"]) for r in rows]
                run_latencies = [float(r["runs_ms"]) for r in rows]

                postmaster = await postmaster_pid(watch)
                server_cpu, pg_cpu = cpu_seconds(proc.pid), postgres_cpu_seconds(postmaster)
                await insert_jobs(conn, par_rb, concurrent)
                await wait_jobs(waker, watch, par_rb.id, concurrent)
                server_cpu = cpu_seconds(proc.pid) - server_cpu
                pg_cpu = postgres_cpu_seconds(postmaster) - pg_cpu
                span = await watch.fetchrow(
                    "SELECT count(*) AS n, extract(epoch FROM max(a.ended_at) - min(a.started_at))"
                    " AS s, count(*) FILTER (WHERE a.status <> 'success') AS bad"
                    " FROM jobs j JOIN activity_runs a ON a.instance_id = j.instance_id"
                    " WHERE j.runbook_id = $1", uuid.UUID(par_rb.id))
                assert span["bad"] == 0 and span["n"] == concurrent * STEPS
            steps: list[float] = []
            bare: list[float] = []
            if floor:  # the server stopped: orch's step statement against the bare commit
                async with pool.acquire() as conn:
                    for _ in range(6):  # past the session's first five (custom) plans
                        await step_statements(conn, seq_rb, 1)
                    for _ in range(max(10, sequential // 10)):
                        steps.extend(await step_statements(conn, seq_rb, 1))
                        bare.append(await floor_chain(conn))
        finally:
            await pool.close()
    n = span["n"]
    extra: dict[str, Any] = {}
    if floor:
        pairs = [lat / f for lat, f in zip(latencies, floors, strict=False)]
        extra = {
            "floor_chain10_p50_ms": round(median(floors), 3),
            "latency_vs_floor": round(median(latencies) / median(floors), 2),
            "latency_vs_floor_paired_p50": round(median(pairs), 2),
            "step_statements_chain10_p50_ms": round(median(steps), 3),
            "step_statements_vs_floor": round(median(steps) / median(bare), 2),
        }
    return {
        "workload": "chain10",
        "latency_p50_ms": round(median(latencies), 3),
        "latency_p99_ms": round(percentile(latencies, 99), 3),
        "job_p50_ms": round(median(job_latencies), 3),
        "activities_p50_ms": round(median(run_latencies), 3),
        "steps_per_s": round(n / float(span["s"])),
        "server_cpu_us_per_step": round(server_cpu / n * 1e6, 1),
        "postgres_cpu_us_per_step": round(pg_cpu / n * 1e6, 1),
        "n": len(latencies),
        "concurrent": concurrent,
        "history_jobs": history,
        **extra,
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--history", type=int, default=0,
                        help="first run this many chain10 jobs to their end and ANALYZE")
    parser.add_argument("--floor", action="store_true",
                        help="interleave floor.py's ten durable commits with the sequential "
                             "instances (latency_vs_floor), and time orch's step statement "
                             "against them once the server has stopped")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.sequential, args.concurrent, args.floor,
                                      args.history))))
