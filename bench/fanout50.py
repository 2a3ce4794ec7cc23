"""fanout50: one activity, 50 parallel branches, a junction — one instance at a time.

The runbook: ``start`` → ``b1`` … ``b50`` (compare_values, one link each) →
``join`` (junction, fires once every branch is done). Each branch's result is
durable before the junction starts, as for any link. An instance's latency is
from its claim to its outcome (both recorded by the server); ``job_p50_ms`` is
from the job's insert to its end. Prints one JSON line.

    python bench/fanout50.py [--instances 50] [--branches 50]
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
    create_pool,
    database,
    median,
    percentile,
    server_process,
    settings_of,
)

from orch.db.jobs import create_job


def document(branches: int) -> dict[str, Any]:
    ids = [f"b{i}" for i in range(1, branches + 1)]
    return {
        "format": "orch.runbook/1",
        "name": "bench fanout",
        "folder": "/Bench",
        "activities": [
            {"id": "start", "type": "compare_values", "properties": {"value": "x", "to": "x"}},
            *({"id": b, "type": "compare_values", "properties": {"value": "x", "to": "x"}}
              for b in ids),
            {"id": "join", "type": "junction"},
        ],
        "links": [
            *({"from": "start", "to": b} for b in ids),
            *({"from": b, "to": "join"} for b in ids),
        ],
    }


async def main(instances: int, branches: int) -> dict[str, Any]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            runbook = await check_in(pool, document(branches))
            async with server_process(dsn, f"bench-fanout-{uuid.uuid4().hex[:6]}"), \
                    pool.acquire() as conn, pool.acquire() as watch, Waker(watch) as waker:
                for _ in range(instances):
                    job = await create_job(conn, runbook=runbook, parameters={},
                                           created_by=None)
                    jid = uuid.UUID(job.id)

                    async def ended(jid: uuid.UUID = jid) -> bool:
                        return await watch.fetchval(
                            "SELECT status FROM jobs WHERE id = $1", jid) in FINAL

                    await waker.until(ended, timeout=60, every=0.005, quiet=0.01)
                rows = await watch.fetch(
                    "SELECT extract(epoch FROM i.ended_at - i.started_at) * 1000 AS ms,"
                    "       extract(epoch FROM j.ended_at - j.created_at) * 1000 AS job_ms,"
                    "       j.status,"
                    "       (SELECT count(*) FROM activity_runs a WHERE a.instance_id = i.id)"
                    "           AS runs"
                    "  FROM jobs j JOIN instances i ON i.id = j.instance_id"
                    " WHERE j.runbook_id = $1", uuid.UUID(runbook.id))
        finally:
            await pool.close()
    assert all(r["status"] == "success" for r in rows), "a fanout50 job failed"
    assert all(r["runs"] == branches + 2 for r in rows), "a fanout50 instance missed runs"
    latencies = [float(r["ms"]) for r in rows]
    return {
        "workload": "fanout50",
        "p50_ms": round(median(latencies), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "job_p50_ms": round(median([float(r["job_ms"]) for r in rows]), 3),
        "branches": branches,
        "n": len(latencies),
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--branches", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.instances, args.branches))))
