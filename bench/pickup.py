"""pickup: from the return of the call that committed a job to its first activity's start.

500 jobs, one at a time on an idle runbook server (each job ends before the
next is started). The first activity's start is the ``started_at`` the
runtime recorded for it; both clocks are this machine's. An idle server is
pushed each job by its start (orch/server/pushes.py): ``pushed`` counts the
jobs handed over so (their ``queued`` event names the server); ``--no-push`` runs the server with
``ORCH_ACCEPT_PUSHES=0``, so every job is claimed. Prints one JSON line.

    python bench/pickup.py [--jobs 500] [--no-push]
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
    create_pool,
    database,
    median,
    percentile,
    server_process,
    settings_of,
)

from orch.db.jobs import create_job

DOC = {
    "format": "orch.runbook/1",
    "name": "bench pickup",
    "folder": "/Bench",
    "activities": [
        {"id": "start", "type": "initialize_data"},
        {"id": "a", "type": "compare_values", "properties": {"value": "x", "to": "x"}},
    ],
    "links": [{"from": "start", "to": "a"}],
}


async def main(jobs: int, push: bool = True) -> dict[str, object]:
    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            runbook = await check_in(pool, DOC)
            async with server_process(dsn, f"bench-pickup-{uuid.uuid4().hex[:6]}",
                                      ORCH_ACCEPT_PUSHES="1" if push else "0"):
                latencies: list[float] = []
                to_claim: list[float] = []  # commit → the claim's clock_timestamp() (its UPDATE)
                to_start: list[float] = []  # that → the first activity's start
                pushed = 0  # handed to the server by the start (its queued event says so)
                async with pool.acquire() as conn, pool.acquire() as watch, Waker(watch) as waker:
                    for _ in range(jobs):
                        job = await create_job(conn, runbook=runbook, parameters={},
                                               created_by=None)
                        committed = time.time()
                        jid = uuid.UUID(job.id)

                        async def started(jid: uuid.UUID = jid) -> object:
                            return await watch.fetchrow(
                                "SELECT a.started_at, j.started_at AS claimed FROM jobs j"
                                " JOIN activity_runs a"
                                " ON a.instance_id = j.instance_id AND a.activity = 'start'"
                                " WHERE j.id = $1 AND j.status = 'success'", jid)

                        row: Any = await waker.until(started, timeout=60, quiet=0.01)
                        at, claimed = row["started_at"], row["claimed"]
                        latencies.append((at.timestamp() - committed) * 1000)
                        to_claim.append((claimed.timestamp() - committed) * 1000)
                        to_start.append((at - claimed).total_seconds() * 1000)
                        pushed += bool(await watch.fetchval(
                            "SELECT data ? 'pushed_to' FROM events WHERE job_id = $1"
                            " AND kind = 'job' AND status = 'queued'", jid))
        finally:
            await pool.close()
    return {
        "workload": "pickup",
        "p50_ms": round(median(latencies), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "commit_to_claim_p50_ms": round(median(to_claim), 3),
        "claim_to_start_p50_ms": round(median(to_start), 3),
        "pushed": pushed,
        "n": len(latencies),
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--no-push", action="store_true",
                        help="the server takes no pushed job: every job is claimed")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.jobs, push=not args.no_push))))
