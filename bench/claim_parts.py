"""claim_parts: what each part of a job claim costs, timed interleaved on one connection.

A harness, not a workload: on one embedded PostgreSQL with orch's schema, a job
is committed, then claimed by one of several statements in turn (each
asynchronously committed, like the claim), and the claim's round trip is
timed from this client. The statements grow one part at a time, from a bare
``UPDATE … RETURNING`` of the queue's head to orch's claim function, so the
differences say what each part costs now, on this machine:

- ``bare``: the queue's head, claimed (the least a claim can be);
- ``eligible``: + the joins and rules that say whether this server may run it;
- ``instance``: + the instance row;
- ``events``: + the job's and the instance's ``running`` events (and their NOTIFY);
- ``server_row``: + the server's running count;
- ``fast``: orch's claim in the common case (``claim_jobs_fast``, all of the above);
- ``orch``: orch's claim with every rule (``claim_jobs``: the PL/pgSQL function).

    python bench/claim_parts.py [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from _common import check_in, create_pool, database, median, percentile

from orch.db.jobs import create_job
from orch.sql import Q

DOC = {
    "format": "orch.runbook/1",
    "name": "bench claim parts",
    "folder": "/Bench",
    "activities": [{"id": "start", "type": "initialize_data"}],
    "links": [],
}

_HEAD = """
WITH head AS (
    SELECT j.id FROM jobs j WHERE j.status = 'queued'
     ORDER BY j.priority DESC, j.created_at LIMIT $2 FOR UPDATE SKIP LOCKED
)"""
_ELIGIBLE = """
WITH head AS (
    SELECT j.id FROM jobs j JOIN runbooks r ON r.id = j.runbook_id
      JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.runbook_version
     WHERE j.status = 'queued' AND r.disabled_at IS NULL
       AND (j.not_before IS NULL OR j.not_before <= clock_timestamp())
       AND (v.schedule_name IS NULL OR j.gate_until > orch_now())
       AND (j.target_server IS NULL OR j.target_server = $1)
       AND r.max_concurrent_jobs = 0
     ORDER BY j.priority DESC, j.created_at LIMIT $2 FOR UPDATE OF j SKIP LOCKED
)"""
_CLAIMED = """,
claimed AS (
    UPDATE jobs j SET status = 'running', claimed_by = $1, started_at = clock_timestamp(),
                      waiting_reason = NULL, instance_id = gen_random_uuid()
      FROM head WHERE j.id = head.id
    RETURNING j.id, j.instance_id, j.runbook_id, j.runbook_version, j.parameters,
              j.created_by, j.started_at, j.created_at, j.priority
)"""
_INSTANCE = """,
new_instances AS (
    INSERT INTO instances (id, job_id, server, epoch, status, started_at)
    SELECT c.instance_id, c.id, $1, 1, 'running', c.started_at FROM claimed c
)"""
_EVENTS = """,
new_events AS (
    INSERT INTO events (kind, at, runbook_id, job_id, instance_id, status, server, data)
    SELECT k.kind, c.started_at, c.runbook_id, c.id, c.instance_id, 'running', $1, k.data
      FROM claimed c CROSS JOIN (VALUES ('job', jsonb_build_object('claimed_by', $1::text)),
                                        ('instance', jsonb_build_object('server', $1::text,
                                                                        'epoch', 1))) k(kind, data)
)"""
_SERVER = """,
me AS (
    UPDATE servers SET running = running + (SELECT count(*) FROM claimed)
     WHERE name = $1 AND EXISTS (SELECT 1 FROM claimed)
)"""
_SELECT = """
SELECT c.id, c.instance_id, c.runbook_id, c.runbook_version, c.parameters, c.created_by
  FROM claimed c"""

VARIANTS: dict[str, str] = {
    "bare": _HEAD + _CLAIMED + _SELECT,
    "eligible": _ELIGIBLE + _CLAIMED + _SELECT,
    "instance": _ELIGIBLE + _CLAIMED + _INSTANCE + _SELECT,
    "events": _ELIGIBLE + _CLAIMED + _INSTANCE + _EVENTS + _SELECT,
    "server_row": _ELIGIBLE + _CLAIMED + _INSTANCE + _EVENTS + _SERVER + _SELECT,
}


async def main(n: int) -> dict[str, Any]:
    server = f"bench-parts-{uuid.uuid4().hex[:6]}"
    async with database() as dsn:
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            runbook = await check_in(pool, DOC)
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO servers (name, status, capacity, activity_types)"
                    " SELECT $1, 'up', 100, coalesce(v.activity_types, '{}')"
                    " FROM runbook_versions v"
                    " WHERE v.runbook_id = $2", server, uuid.UUID(str(runbook.id)))
                await conn.execute("SET synchronous_commit = off")
                times: dict[str, list[float]] = {k: [] for k in [*VARIANTS, "fast", "orch"]}
                for _ in range(n):
                    for name in times:
                        await create_job(conn, runbook=runbook, parameters={}, created_by=None)
                        began = time.perf_counter()
                        if name == "orch":
                            rows = await conn.fetch(Q.claim_jobs, server, 1, 0, 30.0)
                        elif name == "fast":
                            rows = await conn.fetch(Q.claim_jobs_fast, server, 1, 0)
                        else:
                            rows = await conn.fetch(VARIANTS[name], server, 1)
                        times[name].append(time.perf_counter() - began)
                        assert len(rows) == 1, name
                        # done: out of every later claim's way
                        await conn.execute("UPDATE jobs SET status = 'success' WHERE id = $1",
                                           uuid.UUID(str(rows[0][0])))
        finally:
            await pool.close()
    return {
        "workload": "claim_parts",
        **{f"{k}_p50_ms": round(median(v) * 1000, 3) for k, v in times.items()},
        **{f"{k}_p99_ms": round(percentile(v, 99) * 1000, 3) for k, v in times.items()},
        "n": n,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.n))))
