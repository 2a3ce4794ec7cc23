"""pickup_parts: where a pickup's time goes, phase by phase.

A harness, not a workload: the runbook server runs in this process (on
uvloop, as ``orch server`` does) so its steps can be timestamped, and jobs
are committed one at a time as in ``pickup.py``. Per job, the phases are:

- ``commit_to_notify``: the job's commit returned → the server's listener
  callback for ``orch_jobs``;
- ``notify_to_claim_sent``: → the claim statement handed to asyncpg;
- ``claim_sent_to_update``: → the claim's ``UPDATE`` of the job row (its
  ``clock_timestamp()``, read back from ``jobs.started_at``): the session's
  wake-up and the statement's eligibility part;
- ``update_to_rows``: → the claimed rows back in Python (the rest of the
  statement: the instance row, the server row, the commit, the answer);
- ``rows_to_start``: → the first activity's start (the instance task, the
  actor's set-up, the first run).

That is the claim's path (the server runs with ``accept_pushes`` off). An idle
server is pushed its jobs by their start instead (orch/server/pushes.py); a
second run, on a server that takes pushes, times that path's phases:

- ``push_commit_to_notify``: the job's commit returned → the ``orch_push``
  notification in the server's callback;
- ``push_notify_to_start``: → the first activity's start.

The server's methods are wrapped to take the timestamps (the wrappers cost
about a microsecond each); the jobs are committed by a client in another
process, so its Python never runs in the server's loop. ``commit_to_notify``
may be negative: PostgreSQL signals listeners at commit, before it answers the
committer. Prints one JSON line with each phase's p50.

    python bench/pickup_parts.py [--jobs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvloop
from _common import check_in, create_pool, database, median
from pickup import DOC

import actors.instance as instance_module
import orch.server.server as server_module
from orch.config import Settings

PHASES = [("commit", "notify"), ("notify", "claim_sent"), ("claim_sent", "update"),
          ("update", "rows"), ("rows", "start")]


class Marks:
    """When each step happened: per job, and the listener's wake-ups in order."""

    def __init__(self) -> None:
        self.notified: list[float] = []
        self.jobs: dict[str, dict[str, float]] = {}

    def mark(self, job_id: str, name: str, at: float | None = None) -> None:
        self.jobs.setdefault(job_id, {}).setdefault(name, time.time() if at is None else at)


@contextlib.contextmanager
def instrumented(marks: Marks) -> Any:
    """Wrap the server's steps to take the timestamps; undone on exit."""
    server_cls = server_module.RunbookServer
    actor_cls = instance_module.InstanceActor
    on_notify, claim_on, attempt = server_cls._on_notify, server_cls._claim_on, actor_cls._attempt

    def notified(self: Any, channel: str, payload: str) -> None:
        if channel == "orch_jobs":
            marks.notified.append(time.time())
        elif channel == "orch_push":
            marks.mark(json.loads(payload)["job_id"], "notify")
        on_notify(self, channel, payload)

    async def claiming(self: Any, conn: Any, want: int) -> Any:
        sent = time.time()
        rows = await claim_on(self, conn, want)
        for row, _lean in rows:
            marks.mark(row["job_id"], "claim_sent", sent)
            marks.mark(row["job_id"], "rows")
        return rows

    async def attempting(self: Any, spec: Any, *args: Any, **kw: Any) -> Any:
        if spec.id == "start":
            marks.mark(self.plan.ref.job_id, "start")
        return await attempt(self, spec, *args, **kw)

    server_cls._on_notify = notified  # type: ignore[method-assign]
    server_cls._claim_on = claiming  # type: ignore[method-assign]
    actor_cls._attempt = attempting  # type: ignore[method-assign]
    try:
        yield
    finally:
        server_cls._on_notify = on_notify  # type: ignore[method-assign]
        server_cls._claim_on = claim_on  # type: ignore[method-assign]
        actor_cls._attempt = attempt  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def in_process_server(dsn: str, push: bool) -> AsyncIterator[server_module.RunbookServer]:
    settings = Settings(server_name=f"bench-parts-{uuid.uuid4().hex[:6]}", capacity=100,
                        pool_size=4, accept_pushes=push)
    async with server_module.RunbookServer(settings, dsn,
                                           name=settings.server_name).serving() as srv:
        yield srv


_CLIENT_MAIN = """
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[4])
from _common import FINAL
from orch.db.connect import connect
from orch.db.jobs import create_job, get_job, resolve_runbook

async def main(dsn, runbook_id, jobs):
    conn = await connect(dsn)
    runbook = await resolve_runbook(conn, runbook_id)
    out = []
    for _ in range(jobs):
        await asyncio.sleep(0.005)  # the server idle between jobs, as in pickup.py
        job = await create_job(conn, runbook=runbook, parameters={}, created_by=None)
        out.append((job.id, time.time()))
        while (await get_job(conn, job.id)).status not in FINAL:
            await asyncio.sleep(0.005)
    await conn.close()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def commit_jobs(dsn: str, runbook: Any, jobs: int) -> list[tuple[str, float]]:
    """Commit ``jobs`` jobs one at a time from another process (its Python must
    not run in the server's event loop); their ids and commit times."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CLIENT_MAIN, dsn, runbook.id, str(jobs),
        os.path.dirname(os.path.abspath(__file__)), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the committing client failed ({proc.returncode})")
    return [(job_id, at) for job_id, at in json.loads(out)]


async def main(jobs: int) -> dict[str, Any]:
    async with database() as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=1)
        try:
            runbook = await check_in(pool, DOC)
            claims = await _run(pool, dsn, runbook, jobs, push=False)
            pushes = await _run(pool, dsn, runbook, jobs, push=True)
        finally:
            await pool.close()
    return {"workload": "pickup_parts", **claims, **pushes}


async def _run(pool: Any, dsn: str, runbook: Any, jobs: int, push: bool) -> dict[str, Any]:
    """One server's pickups, phase by phase: claimed jobs, or (``push``) pushed ones."""
    marks = Marks()
    with instrumented(marks):
        async with in_process_server(dsn, push):
            committed = await commit_jobs(dsn, runbook, jobs + 20)
    claimed = {str(r["id"]): r["at"] for r in await pool.fetch(
        "SELECT id, extract(epoch FROM started_at)::float8 AS at FROM jobs")}
    steps = [("commit", "notify"), ("notify", "start")] if push else PHASES
    prefix = "push_" if push else ""
    phases: dict[str, list[float]] = {f"{a}_to_{b}": [] for a, b in steps}
    totals: list[float] = []
    notified = iter(sorted(marks.notified))
    wake = next(notified, None)
    for k, (job_id, commit) in enumerate(committed):
        at = dict(marks.jobs.get(job_id, {}), commit=commit, update=claimed[job_id])
        if not push:
            while wake is not None and wake < commit - 0.0005:
                wake = next(notified, None)  # wake-ups before this job's commit (a late
                # notification can arrive just before the committing client returns)
            if wake is not None:
                at["notify"] = wake
        if k < 20 or any(name not in at for step in steps for name in step):
            continue  # warm-up, or (push) a job that was not pushed
        for a, b in steps:
            phases[f"{a}_to_{b}"].append((at[b] - at[a]) * 1000)
        totals.append((at["start"] - at["commit"]) * 1000)
    return {
        **{f"{prefix}{k}_p50_ms": round(median(v), 3) for k, v in phases.items()},
        f"{prefix}commit_to_start_p50_ms": round(median(totals), 3),
        f"{prefix}jobs": len(totals),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(uvloop.run(main(args.jobs))))
