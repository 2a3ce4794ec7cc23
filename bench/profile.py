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
    python bench/profile.py chain10-concurrent --n 1000 --postgres

``--postgres`` also samples the PostgreSQL server's processes with Linux
``perf`` (on-CPU only) and adds their flat profile: the share of
PostgreSQL's samples per function and per kind of work (btree, WAL, JSON,
executor, locks and caches, memory, copies, kernel). PostgreSQL's binaries carry
their function names but no frame pointers, so self time only.

py-spy needs ptrace rights on the server process (root, or
``kernel.yama.ptrace_scope=0``); it is in the ``bench`` extra. ``perf`` is
the machine's (Debian: linux-perf).
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

import psutil
from _common import (
    FINAL,
    Waker,
    check_in,
    create_pool,
    database,
    insert_jobs,
    median,
    percentile,
    postmaster_pid,
    server_process,
    wait_jobs,
)
from chain10 import DOC as CHAIN10
from pickup import DOC as PICKUP

from orch.db.jobs import create_job

PERF = shutil.which("perf")
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


KINDS = (
    ("btree", ("_bt_", "bt", "index_")),
    ("wal", ("XLog", "crc32", "WAL")),
    ("json", ("json", "Json", "populate_record", "parse_object", "parse_scalar")),
    ("executor", ("Exec", "tts_", "slot_", "heap_", "Heap")),
    ("locks_and_caches", ("LWLock", "Lock", "hash_", "CatCache", "SysCache", "Relation",
                          "Buffer", "ResourceOwner")),
    ("memory", ("palloc", "pfree", "AllocSet", "MemoryContext", "malloc", "_int_free")),
    ("copies_and_compares", ("memmove", "memcpy", "memcmp", "memset", "strlen", "strcmp")),
)
"""Kinds of PostgreSQL work, by a fragment of the function's name (first match wins;
fragments, not prefixes: libc's copies are named ``__memmove_avx512_…``)."""


def summarize_perf(report: str, top: int) -> dict[str, Any]:
    """Self-time shares of PostgreSQL's samples from ``perf report --stdio`` lines
    ("     3.55%  [.] _bt_compare")."""
    shares: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for line in report.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith("%") or parts[1] not in ("[.]", "[k]"):
            continue
        pct, symbol = float(parts[0][:-1]), parts[2]
        shares[symbol] += pct
        if parts[1] == "[k]":
            kinds["kernel"] += pct
            continue
        for kind, prefixes in KINDS:
            if any(p in symbol for p in prefixes):
                kinds[kind] += pct
                break
        else:
            kinds["other"] += pct
    total = sum(shares.values()) or 1.0
    return {
        "postgres_self_pct": {k: round(100 * v / total, 1) for k, v in shares.most_common(top)},
        "postgres_kinds_pct": {k: round(100 * v / total, 1) for k, v in kinds.most_common()},
    }


def _perf(pids: list[int], path: str) -> subprocess.Popen[bytes]:
    assert PERF is not None
    return subprocess.Popen(
        [PERF, "record", "-F", "999", "-p", ",".join(map(str, pids)), "-o", path],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _perf_report(path: str) -> str:
    assert PERF is not None
    out = subprocess.run(
        [PERF, "report", "-i", path, "--stdio", "--no-children", "--comm", "postgres",
         "--sort", "symbol", "-g", "none"],
        capture_output=True, check=True, timeout=300)
    return out.stdout.decode(errors="replace")


def _short(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)``."""
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0].rstrip(")")
    return f"{name} ({module})" if module else name


async def workload(kind: str, n: int, dsn: str, raw_path: str, rate: int,
                   perf_path: str | None = None) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=2, max_size=2)
    try:
        runbook = await check_in(pool, PICKUP if kind == "pickup" else CHAIN10)
        async with server_process(dsn, f"bench-prof-{uuid.uuid4().hex[:6]}") as proc, \
                pool.acquire() as conn, pool.acquire() as watch, Waker(watch) as waker:
            spy = subprocess.Popen(
                [PY_SPY, "record", "--pid", str(proc.pid), "--idle", "--format", "raw",
                 "--rate", str(rate), "--output", raw_path],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            perf = None
            if perf_path is not None:  # every PostgreSQL process there is now: the
                # server's sessions are open (its pool, its listener) and this client's
                postmaster = await postmaster_pid(watch)
                assert postmaster is not None
                root = psutil.Process(postmaster)
                perf = _perf([postmaster, *(c.pid for c in root.children())], perf_path)
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
            if perf is not None:
                perf.send_signal(signal.SIGINT)
                perf.communicate(timeout=60)
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
    perf_path = tempfile.mktemp(prefix="orch-perf-", suffix=".data") if args.postgres else None
    postgres: dict[str, Any] = {}
    try:
        async with database() as dsn:
            figures: dict[str, Any] = await workload(args.kind, args.n, dsn, raw_path,
                                                     args.rate, perf_path)
        with open(raw_path, encoding="utf-8") as f:
            raw = f.read()
        if perf_path is not None:
            postgres = summarize_perf(_perf_report(perf_path), args.top)
    finally:
        for path, kept in ((raw_path, keep), (perf_path, False)):
            if path is not None and not kept and os.path.exists(path):
                os.unlink(path)
    return {"workload": f"profile-{args.kind}", "n": args.n, **figures,
            **summarize(raw, args.top), **postgres, "raw": args.raw}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["pickup", "chain10", "chain10-concurrent"])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rate", type=int, default=1000, help="samples per second")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--raw", default=None, help="keep py-spy's collapsed stacks here")
    parser.add_argument("--postgres", action="store_true",
                        help="also profile the PostgreSQL processes with perf")
    args = parser.parse_args()
    if PY_SPY is None:
        sys.exit("py-spy is not installed (pip install -e '.[bench]')")
    if args.postgres and PERF is None:
        sys.exit("--postgres: perf is not installed (Debian: apt install linux-perf)")
    print(json.dumps(asyncio.run(main(args))))
