"""step_parts: what a durable chain10 step's statement costs, part by part, against a bare commit.

A harness, not a workload: on one embedded PostgreSQL with orch's schema (a
listener on ``orch_jobs`` and one on ``orch_events``, like a runbook server's
and a gateway's), ten statements in a row are timed, interleaved, for:

- ``bare``: floor.py's durable ``INSERT`` + ``COMMIT`` of a small row;
- ``write_run``: orch's step statement (the run row, its two events, the
  fencing lock on the instance, the events trigger's NOTIFY);
- ``no_lock``: the same without ``FOR SHARE`` on the instance (no fencing);
- ``no_events``: the run row and the lock only;
- ``no_notify``: ``write_run`` with the events trigger disabled;
- ``quiet``: ``write_run`` as the group commit writer sends a chain's steps
  (the first of the ten notifies, the others are quiet: orch/db/feed_wake.py);
- ``one_row``: the least a fenced durable step could cost — one narrow row
  (the run's fields as one value) in a table of its own, inserted only while
  the instance is owned (``FOR SHARE`` of its row, as ``write_run`` fences). Not
  a statement orch sends: the bound of a design that writes a step as one row
  and derives the run row and its events off the critical path.

Each ratio is to ``bare``: what a step's durable write costs beyond the least
a durable write costs here, and which part of it. Prints one JSON line.

    python bench/step_parts.py [--rounds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from _common import check_in, create_pool, database, median
from chain10 import DOC, FLOOR_INSERT, FLOOR_SETUP

from orch.db.jobs import create_job
from orch.sql import Q

_NO_NOTIFY = "ALTER TABLE events DISABLE TRIGGER events_notify"
_NOTIFY = "ALTER TABLE events ENABLE TRIGGER events_notify"
_ONE_ROW_SETUP = """
CREATE TABLE IF NOT EXISTS bench_step_rows (instance_id uuid NOT NULL, seq int NOT NULL,
                                            body bytea NOT NULL, PRIMARY KEY (instance_id, seq))
"""
_ONE_ROW = """
INSERT INTO bench_step_rows (instance_id, seq, body)
SELECT i.id, $4, $5 FROM instances i
 WHERE i.id = $2::uuid AND i.epoch = $3 AND i.server = $1
   FOR SHARE
"""
_BODY = b"x" * 300
"""About what a compare_values run's fields take as one encoded value."""


def _variants() -> dict[str, str]:
    full = Q.write_run
    no_lock = full.replace("       FOR SHARE OF i\n", "")
    assert no_lock != full
    head = full[:full.index("new_events AS (")].rstrip().rstrip(",")
    # the parameters only the events used still need a type
    no_events = (head + "\nSELECT NOT EXISTS (SELECT 1 FROM live)"
                 " WHERE $15::int IS NOT DISTINCT FROM $15::int"
                 " AND $16::int IS NOT DISTINCT FROM $16::int")
    return {"write_run": full, "no_lock": no_lock, "no_events": no_events,
            "no_notify": full, "quiet": full}


async def main(rounds: int) -> dict[str, Any]:
    async with database() as dsn:
        pool = await create_pool(dsn, min_size=3, max_size=3)
        try:
            runbook = await check_in(pool, DOC)
            async with pool.acquire() as conn, pool.acquire() as jobs_listener, \
                    pool.acquire() as events_listener:
                await jobs_listener.add_listener("orch_jobs", _ignore)
                await events_listener.add_listener("orch_events", _ignore)
                await conn.execute(FLOOR_SETUP)
                job = await create_job(conn, runbook=runbook, parameters={}, created_by=None)
                instance = str(uuid.uuid4())
                await conn.execute(
                    "INSERT INTO instances (id, job_id, server, epoch, status)"
                    " VALUES ($1, $2, 'bench-steps', 1, 'running')",
                    uuid.UUID(instance), uuid.UUID(job.id))
                variants = _variants()
                await conn.execute(_ONE_ROW_SETUP)
                seq = 0
                times: dict[str, list[float]] = {k: [] for k in ["bare", *variants, "one_row"]}
                for _ in range(rounds):
                    for name in times:
                        if name == "no_notify":
                            await conn.execute(_NO_NOTIFY)
                        began = time.perf_counter()
                        for i in range(10):
                            if name == "bare":
                                await conn.execute(FLOOR_INSERT, uuid.uuid4())
                                continue
                            if name == "one_row":
                                seq += 1
                                await conn.execute(_ONE_ROW, "bench-steps", instance, 1, seq, _BODY)
                                continue
                            now = datetime.now(UTC)
                            await conn.fetchval(
                                variants[name], "bench-steps", instance, 1, str(uuid.uuid4()),
                                f"c{i + 1}", None, 0, 1, "success", msgspec.Raw(b"[]"), b"",
                                now, now, None, 0, 1, None, name == "quiet" and i > 0)
                        times[name].append(time.perf_counter() - began)
                        if name == "no_notify":
                            await conn.execute(_NOTIFY)
                await jobs_listener.remove_listener("orch_jobs", _ignore)
                await events_listener.remove_listener("orch_events", _ignore)
        finally:
            await pool.close()
    bare = median(times["bare"])
    return {
        "workload": "step_parts",
        **{f"{k}_ten_ms": round(median(v) * 1000, 3) for k, v in times.items()},
        **{f"{k}_vs_bare": round(median(v) / bare, 2) for k, v in times.items() if k != "bare"},
        "rounds": rounds,
    }


def _ignore(*_args: object) -> None:
    pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rounds))))
