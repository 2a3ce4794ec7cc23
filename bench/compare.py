"""compare: orch against the machine's floor and the fastest peers, in ONE run.

The targets of the performance work are ratios, because the two shared vCPUs
move 2–3× within an hour: every figure a ratio uses is taken in the same run,
on fresh databases of the same embedded PostgreSQL (fsync and
synchronous_commit on), one workload after the other:

1. ``floor.py`` (bare asyncpg: ten durable commits in a row, a minimal claim);
2. orch's ``pickup.py`` (idle server: each job pushed by its start), then
   graphile-worker 0.17.3 right after it (``graphile/bench.js``: pickup,
   chain10 latency and throughput), then orch's ``pickup.py --no-push`` (every
   job claimed; reported beside the target, not a target);
3. orch's ``chain10.py --floor`` (sequential p50 with floor.py's ten durable
   commits interleaved — the chain10 target's floor —, 1,000 at once, and
   orch's step statement against the bare commit);
4. DBOS 3.4 (``dbos_chain10.py``, ``dbos_pickup.py``); the peers run from
   their folder by path (``--peers-dir``, default ``/work/shared/peers``;
   installed into ``/tmp/peers`` by its ``setup.sh``);
5. ``floor.py`` again, so floor.py's runs bracket the engine's.

Prints ONE JSON line: every figure, every ratio, each target's verdict, the
load average before and after, and — when a peer cannot run (not installed,
no node) — why, with the floor ratios still reported.

Targets (issue 21): pickup p50 and p99 ≤ graphile-worker's; chain10 one at a
time p50 ≤ 1.3 × the floor's ten durable commits in a row; chain10 at 1,000
instances ≥ 20 × graphile-worker's durable steps/s.

    python bench/compare.py [--peers-dir DIR] [--no-peers] [--pickup-jobs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from orch.db.embedded import EmbeddedPostgres
from orch.logging import configure

configure(level="WARNING")  # logs to stderr: stdout carries the one JSON line

HERE = Path(__file__).resolve().parent
DEFAULT_PEERS = os.environ.get("ORCH_PEERS_DIR", "/work/shared/peers")
DEFAULT_PREFIX = os.environ.get("ORCH_PEERS_PREFIX", "/tmp/peers")
TARGETS = {
    "pickup_p50_vs_graphile": 1.0,   # orch / graphile-worker, at most
    "pickup_p99_vs_graphile": 1.0,
    "chain10_p50_vs_floor": 1.3,     # orch chain10 p50 / ten durable commits, at most
    "throughput_vs_graphile": 20.0,  # orch steps/s / graphile-worker's, at least
}

_NUM = r"([0-9.]+)"
_GW = {
    "pickup": re.compile(rf"pickup\(commit->start\) p50={_NUM}ms p99={_NUM}ms"),
    "chain10": re.compile(rf"chain10 latency p50={_NUM}ms p99={_NUM}ms"),
    "throughput": re.compile(rf"chain10 throughput {_NUM} wf/s \({_NUM} steps/s\)"),
}
_DBOS = {
    "chain10": re.compile(rf"dbos chain10 latency p50={_NUM}ms p99={_NUM}ms"),
    "throughput": re.compile(rf"dbos chain10 throughput {_NUM} jobs/s \({_NUM} steps/s\)"),
    "pickup": re.compile(rf"pickup\(enqueue return->step start\) p50={_NUM}ms p99={_NUM}ms"),
    "fanout50": re.compile(rf"fanout50 p50={_NUM}ms p99={_NUM}ms"),
}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def run_orch(script: list[str], dsn: str, timeout: float) -> dict[str, Any]:
    """One of orch's bench scripts on the database ``dsn``; its JSON line (or the error)."""
    env = dict(os.environ, ORCH_DATABASE_URL=dsn)
    began = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, *script], cwd=HERE, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": _tail(proc.stderr)}
    result: dict[str, Any] = json.loads(lines[-1])
    result["seconds"] = round(time.monotonic() - began, 1)
    result["load"] = load()
    return result


def run_peer(argv: list[str], env: dict[str, str], timeout: float) -> tuple[str, str | None]:
    """(stdout, error or None) of a peer's script."""
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "", f"timed out after {timeout:.0f} s"
    except OSError as exc:
        return "", str(exc)
    if proc.returncode != 0:
        return proc.stdout, _tail(proc.stderr or proc.stdout)
    return proc.stdout, None


def parse(patterns: dict[str, re.Pattern[str]], out: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, pattern in patterns.items():
        m = pattern.search(out)
        if m is None:
            continue
        a, b = float(m.group(1)), float(m.group(2))
        if name == "throughput":
            figures["steps_per_s"] = b
        else:
            figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = a, b
    return figures


def graphile(args: argparse.Namespace, socket_dir: str, db: str) -> dict[str, Any]:
    script = Path(args.peers_dir) / "graphile" / "bench.js"
    modules = Path(args.peers_prefix) / "graphile" / "node_modules"
    node = shutil.which("node")
    if node is None:
        return {"error": "node is not installed"}
    if not script.exists():
        return {"error": f"{script} not found (--peers-dir)"}
    if not (modules / "graphile-worker").exists():
        return {"error": f"graphile-worker not installed in {modules} (run setup.sh)"}
    env = dict(os.environ, NODE_PATH=str(modules))
    began = time.monotonic()
    out, error = run_peer([node, str(script), socket_dir, db, str(args.peer_latency),
                           str(args.concurrent), str(args.graphile_concurrency)],
                          env, args.timeout)
    figures = parse(_GW, out)
    if error is not None or "pickup_p50_ms" not in figures:
        return {"error": error or f"unexpected output: {_tail(out)}"}
    figures.update(concurrency=args.graphile_concurrency, n=args.peer_latency,
                   seconds=round(time.monotonic() - began, 1), load=load())
    return figures


def dbos(args: argparse.Namespace, url: str, pickup_url: str) -> dict[str, Any]:
    python = Path(args.peers_prefix) / "bin" / "python"
    peers = Path(args.peers_dir)
    if not python.exists():
        return {"error": f"{python} not found (run setup.sh)"}
    began = time.monotonic()
    out, error = run_peer([str(python), str(peers / "dbos_chain10.py"), url,
                           str(args.dbos_latency), str(args.dbos_concurrent), "0.01"],
                          dict(os.environ), args.timeout)
    figures = parse(_DBOS, out)
    if error is not None or "chain10_p50_ms" not in figures:
        return {"error": error or f"unexpected output: {_tail(out)}"}
    out, error = run_peer([str(python), str(peers / "dbos_pickup.py"), pickup_url,
                           str(args.dbos_latency), "0.01", "10", "0.01"],
                          dict(os.environ), args.timeout)
    if error is None:
        figures.update(parse(_DBOS, out))
        figures["queue_poll_s"] = 0.01
    else:
        figures["pickup_error"] = error
    figures.update(seconds=round(time.monotonic() - began, 1), load=load())
    return figures


def ratio(a: Any, b: Any, digits: int = 2) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return None
    return round(a / b, digits)


def verdicts(ratios: dict[str, float | None]) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    for name, bound in TARGETS.items():
        value = ratios.get(name)
        if value is None:
            out[name] = None
        elif name == "throughput_vs_graphile":
            out[name] = value >= bound
        else:
            out[name] = value <= bound
    return out


async def make_databases(pg: EmbeddedPostgres, names: list[str]) -> None:
    conn = await asyncpg.connect(pg.dsn_for("postgres"))
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')  # fixed names, see main()
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-dir", default=DEFAULT_PEERS,
                        help="the peers' scripts (graphile/bench.js, dbos_*.py)")
    parser.add_argument("--peers-prefix", default=DEFAULT_PREFIX,
                        help="where setup.sh installed them (bin/python, graphile/node_modules)")
    parser.add_argument("--no-peers", action="store_true", help="floor and orch only")
    parser.add_argument("--floor-n", type=int, default=300)
    parser.add_argument("--pickup-jobs", type=int, default=300)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--peer-latency", type=int, default=200,
                        help="graphile-worker's pickups and sequential chains")
    parser.add_argument("--graphile-concurrency", type=int, default=50,
                        help="graphile-worker's worker concurrency (its pool is this + 5)")
    parser.add_argument("--dbos-latency", type=int, default=100)
    parser.add_argument("--dbos-concurrent", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    started = time.time()
    load_before = load()
    folder = tempfile.mkdtemp(prefix="orch-bench-compare-")
    # the peers open more connections than the default 100 allows with orch's pools
    pg = EmbeddedPostgres(folder, server_options={"max_connections": "200"})
    results: dict[str, Any] = {"workload": "compare"}
    try:
        asyncio.run(pg.start())
        dbs = ["floor_a", "orch_pickup", "orch_pickup_claimed", "orch_chain10", "graphile",
               "dbos_chain10", "dbos_pickup", "floor_b"]
        asyncio.run(make_databases(pg, dbs))
        socket_dir = pg.dsn.split("host=", 1)[1]
        t = args.timeout
        results["floor"] = run_orch(["floor.py", "--n", str(args.floor_n)],
                                    pg.dsn_for("floor_a"), t)
        results["orch_pickup"] = run_orch(["pickup.py", "--jobs", str(args.pickup_jobs)],
                                          pg.dsn_for("orch_pickup"), t)
        if args.no_peers:
            results["graphile"] = results["dbos"] = {"error": "skipped (--no-peers)"}
        else:  # right after orch's pickup, whose ratio to it is a target
            results["graphile"] = graphile(args, socket_dir, "graphile")
        results["orch_pickup_claimed"] = run_orch(
            ["pickup.py", "--jobs", str(args.pickup_jobs), "--no-push"],
            pg.dsn_for("orch_pickup_claimed"), t)
        results["orch_chain10"] = run_orch(["chain10.py", "--sequential", str(args.sequential),
                                            "--concurrent", str(args.concurrent), "--floor"],
                                           pg.dsn_for("orch_chain10"), t)
        if not args.no_peers:
            results["dbos"] = dbos(args, pg.dsn_for("dbos_chain10"), pg.dsn_for("dbos_pickup"))
        results["floor_after"] = run_orch(["floor.py", "--n", str(args.floor_n)],
                                          pg.dsn_for("floor_b"), t)
    finally:
        asyncio.run(pg.stop())
        shutil.rmtree(folder, ignore_errors=True)

    pick, chain = results["orch_pickup"], results["orch_chain10"]
    # The chain10 target's floor: ten durable commits interleaved with orch's
    # sequential instances (chain10.py --floor), so both sides saw the same
    # moments; floor.py's runs before and after are kept for reference.
    floors = [f["chain10_ms"] for f in (results["floor"], results["floor_after"])
              if "chain10_ms" in f]
    floor10 = chain.get("floor_chain10_p50_ms") or (sum(floors) / len(floors) if floors
                                                      else None)
    gw, db = results["graphile"], results["dbos"]
    ratios = {
        "pickup_p50_vs_graphile": ratio(pick.get("p50_ms"), gw.get("pickup_p50_ms")),
        "pickup_p99_vs_graphile": ratio(pick.get("p99_ms"), gw.get("pickup_p99_ms")),
        "chain10_p50_vs_floor": ratio(chain.get("latency_p50_ms"), floor10),
        "throughput_vs_graphile": ratio(chain.get("steps_per_s"), gw.get("steps_per_s"), 1),
        # not targets, reported beside them
        "job_chain10_p50_vs_floor": ratio(chain.get("job_p50_ms"), floor10),
        "chain10_p50_vs_graphile": ratio(chain.get("latency_p50_ms"), gw.get("chain10_p50_ms")),
        "throughput_vs_dbos": ratio(chain.get("steps_per_s"), db.get("steps_per_s"), 1),
        "chain10_p50_vs_dbos": ratio(chain.get("latency_p50_ms"), db.get("chain10_p50_ms")),
        "pickup_p50_vs_bare_claim": ratio(pick.get("p50_ms"),
                                          results["floor"].get("bare_claim_ms")),
        "pickup_claimed_p50_vs_graphile": ratio(results["orch_pickup_claimed"].get("p50_ms"),
                                                gw.get("pickup_p50_ms")),
        "chain10_p50_vs_floor_paired": chain.get("latency_vs_floor_paired_p50"),
        "step_statements_vs_floor": chain.get("step_statements_vs_floor"),
    }
    results["floor_chain10_ms"] = round(floor10, 3) if floor10 is not None else None
    results["ratios"] = ratios
    results["targets"] = TARGETS
    results["met"] = verdicts(ratios)
    results["peers"] = {"graphile": "error" not in gw, "dbos": "error" not in db}
    results["load_before"] = load_before
    results["load_after"] = load()
    results["seconds"] = round(time.time() - started, 1)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
