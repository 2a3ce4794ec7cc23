"""growth: how memory and per-job cost grow with concurrent instances, and the database per job.

For each size in ``--sizes`` a fresh runbook server process gets that many
jobs of a one-``wait`` runbook at once; once all wait, its RSS over its idle
RSS gives the memory per waiting instance; when all have ended, its CPU time
over the jobs gives the CPU per job (claim, start, wait, result, outcome).
Then ``--finished`` short jobs (three activities) run to the end, and the
growth of the tables that keep their history (jobs, instances,
activity_runs, events, with indexes) is reported per 1,000 finished jobs;
then ``orch purge``'s function removes them; ``--cycles`` rounds of jobs and
purge show whether the tables stay flat (VACUUM reusing the freed space).
Prints one JSON line.

    python bench/growth.py [--sizes 100,1000,10000] [--finished 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from _common import (
    Waker,
    check_in,
    count_waiting,
    cpu_seconds,
    create_pool,
    database,
    insert_jobs,
    rss_mb,
    server_process,
    settings_of,
    wait_jobs,
)
from concurrency import wait_document
from scaleout import DOC as SHORT_DOC

HISTORY_TABLES = ("jobs", "instances", "activity_runs", "events")


async def table_bytes(conn: Any) -> int:
    return int(await conn.fetchval(
        "SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest($1::text[]) AS t",
        list(HISTORY_TABLES)))


def wait_for(size: int) -> float:
    """Long enough for every instance to be claimed and started before the first ends."""
    return 5.0 + size / 400


async def one_size(dsn: str, pool: Any, size: int) -> dict[str, Any]:
    runbook = await check_in(pool, wait_document(wait_for(size)))
    rid = uuid.UUID(runbook.id)
    name = f"bench-growth-{size}-{uuid.uuid4().hex[:6]}"
    async with server_process(dsn, name, ORCH_CAPACITY=str(size + 10)) as proc, \
            pool.acquire() as conn, pool.acquire() as watch, \
            Waker(watch, fallback=0.2) as waker:
        rss_idle = rss_mb(proc.pid)
        cpu_before = cpu_seconds(proc.pid)
        await insert_jobs(conn, runbook, size)
        committed = time.monotonic()

        async def all_waiting() -> bool:
            return await count_waiting(watch, "w") >= size

        await waker.until(all_waiting, timeout=wait_for(size) + 60, every=0.25)
        ramp = time.monotonic() - committed
        rss_waiting = rss_mb(proc.pid)
        await wait_jobs(waker, watch, runbook.id, size, timeout=wait_for(size) + 600,
                        every=0.25)
        cpu = cpu_seconds(proc.pid) - cpu_before
        bad = await watch.fetchval(
            "SELECT count(*) FROM jobs WHERE runbook_id = $1 AND status <> 'success'", rid)
    assert bad == 0, f"{bad} jobs of the {size} did not succeed"
    return {
        "instances": size,
        "kib_per_instance": round((rss_waiting - rss_idle) * 1024 / size, 1),
        "rss_waiting_mb": round(rss_waiting, 1),
        "server_cpu_ms_per_job": round(cpu / size * 1000, 3),
        "ramp_ms_per_job": round(ramp / size * 1000, 3),
    }


async def database_growth(dsn: str, pool: Any, jobs: int, cycles: int) -> dict[str, Any]:
    """History tables after ``jobs`` finished jobs and after a purge, ``cycles`` times."""
    from datetime import UTC, datetime

    from orch.db.purge import purge

    runbooks = [await check_in(pool, SHORT_DOC) for _ in range(cycles)]
    sizes: list[int] = []
    async with server_process(dsn, f"bench-growth-db-{uuid.uuid4().hex[:6]}"), \
            pool.acquire() as conn, pool.acquire() as watch, \
            Waker(watch, fallback=0.2) as waker:

        async def measure() -> None:
            await conn.execute("VACUUM ANALYZE")
            sizes.append(await table_bytes(conn))

        await measure()
        for runbook in runbooks:
            await insert_jobs(conn, runbook, jobs)
            await wait_jobs(waker, watch, runbook.id, jobs)
            await measure()
            await purge(conn, cutoff=datetime.now(UTC))
            await measure()
    empty, full = sizes[0], sizes[1]
    return {
        "finished_jobs": jobs,
        "activities_per_job": len(SHORT_DOC["activities"]),
        "mb_per_1000_jobs": round((full - empty) / jobs * 1000 / 2**20, 2),
        "mb_history_empty": round(empty / 2**20, 2),
        "mb_after_jobs": [round(b / 2**20, 2) for b in sizes[1::2]],
        "mb_after_purge": [round(b / 2**20, 2) for b in sizes[2::2]],
    }


async def main(sizes: list[int], finished: int, cycles: int) -> dict[str, Any]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            curve = [await one_size(dsn, pool, size) for size in sizes]
            db = await database_growth(dsn, pool, finished, cycles)
        finally:
            await pool.close()
    return {"workload": "growth", "curve": curve, "database": db, **pg_settings}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--finished", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=3, help="rounds of jobs then purge")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(json.dumps(asyncio.run(main(sizes, args.finished, args.cycles))))
