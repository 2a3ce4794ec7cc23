"""scaleout: throughput of many short jobs with 1, 2, 3 runbook servers on one database.

Each round starts one more server process (the earlier ones keep running),
commits ``--jobs`` jobs of a three-step runbook in one transaction and waits
until all have ended. Throughput is jobs (and durable activity results) per
second from that commit to the last job's end; ``share`` is how many jobs
each server ran. Each round starts from the same tables (the earlier rounds'
jobs purged, then VACUUM ANALYZE). On this two-core machine the servers and
PostgreSQL share the same cores, so the curve shows contention, not added
hardware. Prints one JSON line.

    python bench/scaleout.py [--jobs 3000] [--servers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from _common import (
    Waker,
    check_in,
    create_pool,
    database,
    insert_jobs,
    server_process,
    settings_of,
    wait_jobs,
)

from orch.db.purge import purge

DOC = {
    "format": "orch.runbook/1",
    "name": "bench short job",
    "folder": "/Bench",
    "activities": [
        {"id": "a", "type": "compare_values", "properties": {"value": "x", "to": "x"}},
        {"id": "b", "type": "compare_values", "properties": {"value": "x", "to": "x"}},
        {"id": "c", "type": "compare_values", "properties": {"value": "x", "to": "x"}},
    ],
    "links": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
}


async def main(jobs: int, servers: int) -> dict[str, Any]:
    curve: list[dict[str, Any]] = []
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            runbooks = [await check_in(pool, DOC) for _ in range(servers)]
            async with contextlib.AsyncExitStack() as stack:
                conn = await stack.enter_async_context(pool.acquire())
                watch = await stack.enter_async_context(pool.acquire())
                waker = await stack.enter_async_context(Waker(watch, fallback=0.1))
                tag = uuid.uuid4().hex[:6]
                for k, runbook in enumerate(runbooks, start=1):
                    await stack.enter_async_context(server_process(dsn, f"bench-scale-{tag}-{k}"))
                    # every round from the same tables: the earlier rounds' history
                    # purged (else each added server would also meet bigger indexes)
                    await purge(conn, cutoff=datetime.now(UTC))
                    await conn.execute("VACUUM ANALYZE")
                    await insert_jobs(conn, runbook, jobs)
                    committed = datetime.now(UTC)
                    began = time.monotonic()
                    await wait_jobs(waker, watch, runbook.id, jobs)
                    wall = time.monotonic() - began
                    row = await watch.fetchrow(
                        "SELECT max(ended_at) AS last,"
                        "       count(*) FILTER (WHERE status <> 'success') AS bad"
                        "  FROM jobs WHERE runbook_id = $1", uuid.UUID(runbook.id))
                    share = [r["n"] for r in await watch.fetch(
                        "SELECT claimed_by, count(*) AS n FROM jobs WHERE runbook_id = $1"
                        " GROUP BY claimed_by ORDER BY claimed_by", uuid.UUID(runbook.id))]
                    assert row["bad"] == 0, "a short job failed"
                    seconds = max((row["last"] - committed).total_seconds(), 1e-6)
                    curve.append({
                        "servers": k,
                        "jobs_per_s": round(jobs / seconds),
                        "results_per_s": round(jobs * len(DOC["activities"]) / seconds),
                        "wall_s": round(wall, 2),
                        "share": share,
                    })
        finally:
            await pool.close()
    return {
        "workload": "scaleout",
        "jobs": jobs,
        "curve": curve,
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--servers", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.jobs, args.servers))))
