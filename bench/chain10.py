"""chain10: 10 sequential compare_values, each result durable before the next starts.

Latency: ``--sequential`` instances one at a time; an instance's latency is
from its claim (instance start) to its outcome (both recorded by the server);
``job_p50_ms`` is from the job's insert to its end (pickup included).
Throughput: ``--concurrent`` jobs committed at once; durable activity results
per second from the first activity start to the last activity end, with the
CPU time the server and PostgreSQL spent per result. Prints one JSON line.

    python bench/chain10.py [--sequential 200] [--concurrent 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import Any

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


async def main(sequential: int, concurrent: int) -> dict[str, Any]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            seq_rb = await check_in(pool, DOC)
            par_rb = await check_in(pool, DOC)
            async with server_process(dsn, f"bench-chain-{uuid.uuid4().hex[:6]}") as proc, \
                    pool.acquire() as conn, pool.acquire() as watch, Waker(watch) as waker:
                for _ in range(sequential):
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
                    "       j.status FROM jobs j JOIN instances i ON i.id = j.instance_id"
                    " WHERE j.runbook_id = $1", uuid.UUID(seq_rb.id))
                assert all(r["status"] == "success" for r in rows), "a chain10 job failed"
                latencies = [float(r["ms"]) for r in rows]
                job_latencies = [float(r["job_ms"]) for r in rows]

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
        finally:
            await pool.close()
    n = span["n"]
    return {
        "workload": "chain10",
        "latency_p50_ms": round(median(latencies), 3),
        "latency_p99_ms": round(percentile(latencies, 99), 3),
        "job_p50_ms": round(median(job_latencies), 3),
        "steps_per_s": round(n / float(span["s"])),
        "server_cpu_us_per_step": round(server_cpu / n * 1e6, 1),
        "postgres_cpu_us_per_step": round(pg_cpu / n * 1e6, 1),
        "n": len(latencies),
        "concurrent": concurrent,
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.sequential, args.concurrent))))
