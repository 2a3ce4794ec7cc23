"""profile: where the runbook server's time goes during pickup or chain10 (py-spy).

Starts the embedded PostgreSQL and an ``orch server`` process (as the other
benchmarks do), attaches ``py-spy record`` to the server (idle samples
included, so time spent waiting for PostgreSQL shows as the event loop's
``select``/``epoll``), runs the workload, and prints ONE JSON line: the
share of the server's wall time per function (self time, top N), the share
of samples that were idle (waiting on the database or on work), and the
workload's own figures. The raw collapsed stacks are kept with ``--raw``.

- ``pickup``: ``--n`` jobs one at a time (commit → first activity start);
- ``chain10``: ``--n`` chain10 instances one at a time;
- ``chain10-concurrent``: ``--n`` chain10 jobs committed at once.

    python bench/profile.py pickup --n 300 [--raw /tmp/pickup.txt] [--rate 1000]

py-spy needs ptrace rights on the server process (root, or
``kernel.yama.ptrace_scope=0``); it is in the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from _common import (
    FINAL,
    Waker,
    check_in,
    create_pool,
    database,
    insert_jobs,
    median,
    percentile,
    server_process,
    wait_jobs,
)
from chain10 import DOC as CHAIN10
from pickup import DOC as PICKUP

from orch.db.jobs import create_job

PY_SPY = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
"""py-spy on the PATH, else beside this Python (a venv run without activating it)."""


def summarize(raw: str, top: int) -> dict[str, Any]:
    """Self-time shares (of all samples) from py-spy's collapsed stacks ("a;b;c N")."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf = frames[-1]
        if leaf.startswith(("Runner.run (", "select (", "poll (")) or "_run_once" in leaf:
            idle += n  # in the event loop's C code (uvloop) or its poll: waiting
        self_time[_short(leaf)] += n
        for name in {_short(f) for f in frames}:
            inclusive[name] += n
    share = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "idle_pct": share(idle),
        "self_pct": {k: share(v) for k, v in self_time.most_common(top)},
        "inclusive_pct": {k: share(v) for k, v in inclusive.most_common(top * 2)},
    }


def _short(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)``."""
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0].rstrip(")")
    return f"{name} ({module})" if module else name


async def workload(kind: str, n: int, dsn: str, raw_path: str, rate: int) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=2, max_size=2)
    try:
        runbook = await check_in(pool, PICKUP if kind == "pickup" else CHAIN10)
        async with server_process(dsn, f"bench-prof-{uuid.uuid4().hex[:6]}") as proc, \
                pool.acquire() as conn, pool.acquire() as watch, Waker(watch) as waker:
            spy = subprocess.Popen(
                [PY_SPY, "record", "--pid", str(proc.pid), "--idle", "--format", "raw",
                 "--rate", str(rate), "--output", raw_path],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            await asyncio.sleep(1.0)  # py-spy attached
            began = time.monotonic()
            latencies: list[float] = []
            to_claim: list[float] = []  # commit → the claim statement's clock
            to_start: list[float] = []  # the claim statement's clock → first activity start
            if kind == "chain10-concurrent":
                await insert_jobs(conn, runbook, n)
                await wait_jobs(waker, watch, runbook.id, n)
            else:
                for _ in range(n):
                    job = await create_job(conn, runbook=runbook, parameters={},
                                           created_by=None)
                    committed = time.time()
                    jid = uuid.UUID(job.id)

                    async def ended(jid: uuid.UUID = jid) -> object:
                        return await watch.fetchrow(
                            "SELECT j.status, j.ended_at, i.started_at AS began,"
                            " i.ended_at AS done, j.started_at AS claimed,"
                            " (SELECT min(a.started_at) FROM activity_runs a"
                            "   WHERE a.instance_id = j.instance_id) AS first"
                            " FROM jobs j LEFT JOIN instances i ON i.id = j.instance_id"
                            " WHERE j.id = $1 AND j.status = ANY($2::text[])",
                            jid, list(FINAL))

                    row: Any = await waker.until(ended, timeout=60, every=0.005, quiet=0.01)
                    if kind == "pickup":
                        latencies.append((row["first"].timestamp() - committed) * 1000)
                        to_claim.append((row["claimed"].timestamp() - committed) * 1000)
                        to_start.append((row["first"] - row["claimed"]).total_seconds() * 1000)
                    else:
                        latencies.append((row["done"] - row["began"]).total_seconds() * 1000)
            took = time.monotonic() - began
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=60)
            if spy.returncode not in (0, -signal.SIGINT) and not os.path.exists(raw_path):
                raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-300:]}")
    finally:
        await pool.close()
    figures: dict[str, Any] = {"seconds": round(took, 2)}
    if latencies:
        figures.update(p50_ms=round(median(latencies), 3),
                       p99_ms=round(percentile(latencies, 99), 3))
    if to_claim:
        figures.update(commit_to_claim_p50_ms=round(median(to_claim), 3),
                       claim_to_start_p50_ms=round(median(to_start), 3))
    return figures


async def main(args: argparse.Namespace) -> dict[str, Any]:
    keep = args.raw is not None
    raw_path = args.raw or tempfile.mktemp(prefix="orch-prof-", suffix=".txt")
    try:
        async with database() as dsn:
            figures: dict[str, Any] = await workload(args.kind, args.n, dsn, raw_path,
                                                     args.rate)
        with open(raw_path, encoding="utf-8") as f:
            raw = f.read()
    finally:
        if not keep and os.path.exists(raw_path):
            os.unlink(raw_path)
    return {"workload": f"profile-{args.kind}", "n": args.n, **figures,
            **summarize(raw, args.top), "raw": args.raw}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["pickup", "chain10", "chain10-concurrent"])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--raw", default=None, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    if PY_SPY is None:
        sys.exit("py-spy is not installed (pip install -e '.[bench]')")
    print(json.dumps(asyncio.run(main(args))))
