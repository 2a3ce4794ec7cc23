"""floor: what this machine and database give with no engine at all, measured now.

The targets are absolute, but the two shared vCPUs are not: the same commit
has measured 2–3× apart on different days. This prints, in one JSON line, the
floors the engine's numbers should be read against, taken with bare asyncpg
on the same database the other benchmarks use:

- ``select1_ms``: a ``SELECT 1`` round trip (p50);
- ``commit_ms``: one durable ``INSERT`` and its ``COMMIT`` (p50) — the WAL
  flush every durable step pays;
- ``bare_claim_ms``: a minimal queue's claim of one job (``UPDATE … WHERE id =
  (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)``, committed asynchronously like
  orch's claim), p50, with the job inserted and committed beforehand;
- ``chain10_ms``: ten sequential ``INSERT`` + ``COMMIT`` (p50): the least a
  chain of ten durable steps can take here;
- ``group_rows_per_s``: rows committed per second in batches of 1,000
  (``INSERT … SELECT unnest``), from one connection;
- ``python_us``: a fixed pure-Python workload (µs), the CPU's speed now.

    python bench/floor.py [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from _common import create_pool, database, median, settings_of

SETUP = """
DROP TABLE IF EXISTS floor_queue, floor_rows;
CREATE TABLE floor_queue (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'queued',
                          payload jsonb NOT NULL DEFAULT '{}', claimed_at timestamptz);
CREATE INDEX floor_queue_queued ON floor_queue (id) WHERE status = 'queued';
CREATE TABLE floor_rows (id bigserial PRIMARY KEY, run uuid NOT NULL, status text NOT NULL,
                         data jsonb NOT NULL, at timestamptz NOT NULL);
"""
CLAIM = """
UPDATE floor_queue SET status = 'running', claimed_at = now()
 WHERE id = (SELECT id FROM floor_queue WHERE status = 'queued'
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, payload
"""
INSERT_ONE = "INSERT INTO floor_rows (run, status, data, at) VALUES ($1, 'success', '{}', now())"
INSERT_MANY = """
INSERT INTO floor_rows (run, status, data, at)
SELECT r, 'success', '{}', now() FROM unnest($1::uuid[]) AS r
"""


def python_us() -> float:
    """A fixed mix of what the runtime does (dicts, small objects, calls), best of 5."""
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        total = 0
        for i in range(20_000):
            d = {"Status": "success", "Value": str(i), "n": i}
            total += len(d["Value"]) + d["n"] % 7
        best = min(best, time.perf_counter() - began)
    return round(best * 1e6, 1)


async def main(n: int) -> dict[str, Any]:
    import uuid

    async with database() as dsn:
        pg_settings = await settings_of(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=2)
        try:
            async with pool.acquire() as conn:
                await conn.execute(SETUP)
                select1, commit, claim, chain = [], [], [], []
                for _ in range(n):
                    t = time.perf_counter()
                    await conn.fetchval("SELECT 1")
                    select1.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await conn.execute(INSERT_ONE, uuid.uuid4())
                    commit.append(time.perf_counter() - t)
                    await conn.execute("INSERT INTO floor_queue DEFAULT VALUES")
                    t = time.perf_counter()
                    async with conn.transaction():
                        await conn.execute("SET LOCAL synchronous_commit = off")
                        await conn.fetchrow(CLAIM)
                    claim.append(time.perf_counter() - t)
                for _ in range(max(10, n // 10)):
                    t = time.perf_counter()
                    for _ in range(10):
                        await conn.execute(INSERT_ONE, uuid.uuid4())
                    chain.append(time.perf_counter() - t)
                batches = 50
                ids = [[uuid.uuid4() for _ in range(1000)] for _ in range(batches)]
                t = time.perf_counter()
                for batch in ids:
                    await conn.execute(INSERT_MANY, batch)
                rows_per_s = 1000 * batches / (time.perf_counter() - t)
                await conn.execute("DROP TABLE floor_queue, floor_rows")
        finally:
            await pool.close()
    ms = 1000
    return {
        "workload": "floor",
        "select1_ms": round(median(select1) * ms, 3),
        "commit_ms": round(median(commit) * ms, 3),
        "bare_claim_ms": round(median(claim) * ms, 3),
        "chain10_ms": round(median(chain) * ms, 3),
        "group_rows_per_s": round(rows_per_s),
        "python_us": python_us(),
        "n": n,
        **pg_settings,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.n))))
