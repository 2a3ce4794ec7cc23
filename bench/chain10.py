"""chain10: 10 sequential compare_values, each result durable before the next starts.

Latency: 200 instances one at a time; an instance's latency is from its claim
(instance start) to its outcome (both recorded by the server). Throughput: 1,000
jobs committed at once; durable activity results per second from the first
activity start to the last activity end. Prints one JSON line.

    python bench/chain10.py [--sequential 200] [--concurrent 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

from _common import check_in, create_pool, database, median, percentile, server_process, settings_of

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


async def _wait_all(conn, runbook_id: str, count: int) -> None:  # type: ignore[no-untyped-def]
    while await conn.fetchval(
        "SELECT count(*) FROM jobs WHERE runbook_id = $1 AND status NOT IN ('queued', 'running')",
        uuid.UUID(runbook_id),
    ) < count:
        await asyncio.sleep(0.01)


async def main(sequential: int, concurrent: int) -> dict[str, object]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            seq_rb = await check_in(pool, DOC)
            par_rb = await check_in(pool, DOC)
            async with server_process(dsn, f"bench-chain-{uuid.uuid4().hex[:6]}"), \
                    pool.acquire() as conn, pool.acquire() as watch:
                for _ in range(sequential):
                    job = await create_job(conn, runbook=seq_rb, parameters={},
                                           created_by=None)
                    while await watch.fetchval(
                        "SELECT status FROM jobs WHERE id = $1", uuid.UUID(job.id)
                    ) in ("queued", "running"):
                        await asyncio.sleep(0.002)
                rows = await watch.fetch(
                    "SELECT extract(epoch FROM i.ended_at - i.started_at) * 1000 AS ms,"
                    "       j.status FROM jobs j JOIN instances i ON i.id = j.instance_id"
                    " WHERE j.runbook_id = $1", uuid.UUID(seq_rb.id))
                assert all(r["status"] == "success" for r in rows), "a chain10 job failed"
                latencies = [float(r["ms"]) for r in rows]

                async with conn.transaction():  # all visible at once: one wake-up
                    for _ in range(concurrent):
                        await create_job(conn, runbook=par_rb, parameters={}, created_by=None)
                await _wait_all(watch, par_rb.id, concurrent)
                span = await watch.fetchrow(
                    "SELECT count(*) AS n, extract(epoch FROM max(a.ended_at) - min(a.started_at))"
                    " AS s, count(*) FILTER (WHERE a.status <> 'success') AS bad"
                    " FROM jobs j JOIN activity_runs a ON a.instance_id = j.instance_id"
                    " WHERE j.runbook_id = $1", uuid.UUID(par_rb.id))
                assert span["bad"] == 0 and span["n"] == concurrent * STEPS
        finally:
            await pool.close()
    return {
        "workload": "chain10",
        "latency_p50_ms": round(median(latencies), 3),
        "latency_p99_ms": round(percentile(latencies, 99), 3),
        "steps_per_s": round(span["n"] / float(span["s"])),
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
