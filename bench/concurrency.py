"""concurrency: 10,000 instances at once on one runbook server, each in a ``wait`` activity.

One server process (capacity raised to fit). ``--instances`` jobs of a
one-activity runbook (``wait --wait`` seconds) are committed in one
transaction; once every one of them is inside its ``wait`` the script reads
the server's RSS and measures pickup (commit of a new job → its first
activity's start, as in pickup.py) ``--pickups`` times, one at a time, while
they all wait. Then every job must end ``success``. Prints one JSON line:
RSS idle / all waiting / peak, KiB per waiting instance, time to get them all
running, pickup p50/p99 under that load.

    python bench/concurrency.py [--instances 10000] [--wait 45] [--pickups 200]
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
    create_pool,
    database,
    insert_jobs,
    median,
    percentile,
    rss_mb,
    server_process,
    settings_of,
    wait_jobs,
)

from orch.db.jobs import create_job

PICKUP_DOC = {
    "format": "orch.runbook/1",
    "name": "bench pickup under load",
    "folder": "/Bench",
    "activities": [
        {"id": "start", "type": "initialize_data"},
        {"id": "a", "type": "compare_values", "properties": {"value": "x", "to": "x"}},
    ],
    "links": [{"from": "start", "to": "a"}],
}


def wait_document(seconds: float) -> dict[str, Any]:
    return {
        "format": "orch.runbook/1",
        "name": "bench wait",
        "folder": "/Bench",
        "activities": [{"id": "w", "type": "wait", "properties": {"seconds": seconds}}],
        "links": [],
    }


class RssSampler:
    """The server's RSS every ``every`` seconds; ``peak`` is the highest seen."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0.0

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb(self.pid))
            await asyncio.sleep(self.every)


async def pickup_once(conn: Any, watch: Any, waker: Waker, runbook: Any) -> float:
    job = await create_job(conn, runbook=runbook, parameters={}, created_by=None)
    committed = time.time()
    jid = uuid.UUID(job.id)

    async def started() -> Any:
        return await watch.fetchval(
            "SELECT a.started_at FROM jobs j JOIN activity_runs a"
            " ON a.instance_id = j.instance_id AND a.activity = 'start'"
            " WHERE j.id = $1", jid)

    at = await waker.until(started, timeout=120, quiet=0.01)
    return (at.timestamp() - committed) * 1000


async def main(instances: int, wait: float, pickups: int) -> dict[str, Any]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=3, max_size=3)
        try:
            waiting_rb = await check_in(pool, wait_document(wait))
            pickup_rb = await check_in(pool, PICKUP_DOC)
            env = {"ORCH_CAPACITY": str(instances + pickups + 10)}
            name = f"bench-conc-{uuid.uuid4().hex[:6]}"
            async with server_process(dsn, name, **env) as proc, \
                    pool.acquire() as conn, pool.acquire() as watch, \
                    Waker(watch, fallback=0.2) as waker, asyncio.TaskGroup() as tg:
                sampler = RssSampler(proc.pid)
                rss_idle = rss_mb(proc.pid)
                sampling = tg.create_task(sampler.run(), name="rss-sampler")
                begun = time.monotonic()
                await insert_jobs(conn, waiting_rb, instances)
                committed = time.monotonic()
                rid = uuid.UUID(waiting_rb.id)

                async def all_waiting() -> bool:
                    return await count_waiting(watch, "w") >= instances

                await waker.until(all_waiting, timeout=max(60.0, wait), every=0.25)
                ramp_s = time.monotonic() - committed
                rss_waiting = rss_mb(proc.pid)
                latencies = [await pickup_once(conn, watch, waker, pickup_rb)
                             for _ in range(pickups)]
                pickups_done = time.monotonic() - committed
                await wait_jobs(waker, watch, waiting_rb.id, instances, timeout=wait + 600,
                                every=0.25)
                total_s = time.monotonic() - begun
                sampling.cancel()
                statuses = dict(await watch.fetch(
                    "SELECT status, count(*) FROM jobs WHERE runbook_id = $1 GROUP BY status",
                    rid))
        finally:
            await pool.close()
    return {
        "workload": "concurrency",
        "instances": instances,
        "wait_s": wait,
        "ramp_s": round(ramp_s, 2),
        "rss_idle_mb": round(rss_idle, 1),
        "rss_waiting_mb": round(rss_waiting, 1),
        "rss_peak_mb": round(max(sampler.peak, rss_waiting), 1),
        "kib_per_instance": round((rss_waiting - rss_idle) * 1024 / instances, 1),
        "pickup_p50_ms": round(median(latencies), 3),
        "pickup_p99_ms": round(percentile(latencies, 99), 3),
        "pickups": len(latencies),
        "pickups_within_wait": pickups_done < wait,
        "succeeded": statuses.get("success", 0),
        "total_s": round(total_s, 1),
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--wait", type=float, default=45.0)
    parser.add_argument("--pickups", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.instances, args.wait, args.pickups))))
