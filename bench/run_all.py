"""Run every benchmark (sized to finish in under ten minutes) and record them in RESULTS.md.

Each script runs in its own process, as documented in it, and prints one JSON
line; this collects them, prints them, and writes a table with the date, the
machine and the commit between the ``run_all`` markers of bench/RESULTS.md
(replacing what an earlier run wrote there; everything outside the markers —
other engineers' sections — is kept). ``--repeat`` runs the latency
workloads several times and reports each run, since the machine is shared;
``floor`` (bare asyncpg, no engine) runs with them, so each run can be read
against what the machine and database gave at that moment.

    python bench/run_all.py [--repeat 2] [--no-write] [--only pickup,chain10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN = "<!-- run_all: begin (written by bench/run_all.py; edit outside these markers) -->"
END = "<!-- run_all: end -->"

WORKLOADS: dict[str, list[str]] = {
    "floor": ["floor.py", "--n", "300"],
    "runtime": ["runtime.py", "--instances", "1000", "--steps", "10", "--concurrency", "100"],
    "pickup": ["pickup.py", "--jobs", "300"],
    "chain10": ["chain10.py", "--sequential", "200", "--concurrent", "1000"],
    "fanout50": ["fanout50.py", "--instances", "50"],
    "concurrency": ["concurrency.py", "--instances", "10000", "--wait", "45", "--pickups", "200"],
    "scaleout": ["scaleout.py", "--jobs", "3000", "--servers", "3"],
    "growth": ["growth.py", "--sizes", "100,1000,10000", "--finished", "2000"],
    # orch against the floor and the peers in one run (issue 21's ratios)
    "compare": ["compare.py"],
    "live": ["live.py", "--clients", "100", "--instances", "1000"],
    # where a claim's and a durable step's time goes, part by part (issue 21)
    "claim_parts": ["claim_parts.py", "--n", "300"],
    "step_parts": ["step_parts.py", "--rounds", "60"],
    "pickup_parts": ["pickup_parts.py", "--jobs", "300"],
}
TIMEOUT = {"compare": 1800}
REPEATED = ("floor", "pickup", "chain10", "fanout50")


def run(name: str) -> dict[str, Any]:
    began = time.monotonic()
    proc = subprocess.run([sys.executable, *WORKLOADS[name]], cwd=HERE, capture_output=True,
                          text=True, timeout=TIMEOUT.get(name, 600))
    took = round(time.monotonic() - began, 1)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"bench": name, "workload": name, "error": tail, "seconds": took}
    result: dict[str, Any] = json.loads(lines[-1])
    result["bench"] = name
    result["seconds"] = took
    return result


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True)
    return out.stdout.strip()


def commit() -> str:
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "orch", "actors",
                "activities", "schema.sql")
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def _ms(value: Any) -> str:
    return f"{value:,.2f} ms" if isinstance(value, int | float) else "–"


def summary(r: dict[str, Any]) -> tuple[str, str]:
    """(result, target) cells of one workload's row."""
    w = r["bench"]
    if "error" in r:
        return f"failed: {r['error']}", ""
    if w == "floor":
        return (f"bare asyncpg, no engine: SELECT 1 {_ms(r['select1_ms'])}, durable INSERT + "
                f"COMMIT {_ms(r['commit_ms'])}, minimal claim {_ms(r['bare_claim_ms'])}, ten "
                f"durable commits in a row {_ms(r['chain10_ms'])}, {r['group_rows_per_s']:,} "
                f"group-committed rows/s; Python reference loop {r['python_us']:,} µs",
                "the machine now")
    if w == "runtime":
        return (f"{r['cpu_us_per_activity']} µs CPU per activity, "
                f"{r['activities_per_s']:,} activities/s (in memory)", "≤ 50 µs")
    if w == "pickup":
        return (f"p50 {_ms(r['p50_ms'])}, p99 {_ms(r['p99_ms'])} (n {r['n']})",
                "p50 ≤ 0.4 ms, p99 ≤ 3 ms")
    if w == "chain10":
        return (f"p50 {_ms(r['latency_p50_ms'])}, p99 {_ms(r['latency_p99_ms'])}, job p50 "
                f"{_ms(r['job_p50_ms'])}; {r['steps_per_s']:,} results/s at {r['concurrent']:,} "
                f"instances (CPU/result: server {r['server_cpu_us_per_step']} µs, PostgreSQL "
                f"{r['postgres_cpu_us_per_step']} µs)",
                "p50 ≤ 3 ms; ≥ 20,000 results/s")
    if w == "fanout50":
        return (f"p50 {_ms(r['p50_ms'])}, p99 {_ms(r['p99_ms'])}, job p50 {_ms(r['job_p50_ms'])}",
                "p50 ≤ 30 ms")
    if w == "concurrency":
        return (f"{r['instances']:,} waiting: RSS {r['rss_waiting_mb']:,} MiB (idle "
                f"{r['rss_idle_mb']} MiB, peak {r['rss_peak_mb']:,} MiB, "
                f"{r['kib_per_instance']} KiB each), all running after {r['ramp_s']} s, "
                f"{r['succeeded']:,} succeeded; pickup meanwhile p50 {_ms(r['pickup_p50_ms'])}, "
                f"p99 {_ms(r['pickup_p99_ms'])}",
                "RSS ≤ 1 GiB, all finish, pickup p99 ≤ 50 ms")
    if w == "scaleout":
        points = "; ".join(f"{p['servers']} → {p['jobs_per_s']:,} jobs/s "
                           f"({p['results_per_s']:,} results/s, share {p['share']})"
                           for p in r["curve"])
        return f"{r['jobs']:,} short jobs: {points}", "rises with servers"
    if w == "growth":
        points = "; ".join(f"{p['instances']:,}: {p['kib_per_instance']} KiB/instance, "
                           f"{p['server_cpu_ms_per_job']} ms CPU/job" for p in r["curve"])
        db = r["database"]
        return (f"{points}; database {db['mb_per_1000_jobs']} MiB per 1,000 finished jobs "
                f"({db['activities_per_job']} activities each); history tables after each "
                f"round of {db['finished_jobs']:,} jobs {db['mb_after_jobs']} MiB, after each "
                f"purge {db['mb_after_purge']} MiB (empty {db['mb_history_empty']} MiB)",
                "report")
    if w == "compare":
        ratios, met = r["ratios"], r["met"]

        def cell(name: str, bound: str) -> str:
            verdict = {True: "met", False: "not met", None: "n/a"}[met[name]]
            return f"{name} {ratios[name]} ({bound}: {verdict})"

        peers = ", ".join(f"{k}: {'ran' if ok else r[k].get('error', 'failed')}"
                          for k, ok in r["peers"].items())
        return ("; ".join([cell("pickup_p50_vs_graphile", "≤ 1"),
                           cell("pickup_p99_vs_graphile", "≤ 1"),
                           cell("chain10_p50_vs_floor", "≤ 1.3"),
                           cell("throughput_vs_graphile", "≥ 20")])
                + f"; peers {peers}; load {r['load_before']} → {r['load_after']}",
                "issue 21's ratios")
    if w == "live":
        return (f"{r['clients']} clients, {r['events_per_client']:,} events each: delay "
                f"(commit → written to every socket, by the gateway) p50 "
                f"{_ms(r['delay_p50_ms'])}, p99 {_ms(r['delay_p99_ms'])}, "
                f"{r['within_100ms_pct']} % within 100 ms", "p99 ≤ 100 ms")
    if w == "claim_parts":
        parts = ("bare", "eligible", "instance", "events", "server_row", "fast", "orch")
        return ("claim p50 (ms), part by part: " + ", ".join(
                    f"{k} {r[f'{k}_p50_ms']}" for k in parts), "report")
    if w == "step_parts":
        parts = ("write_run", "quiet", "no_lock", "no_notify", "no_events", "one_row")
        return (f"ten bare commits {_ms(r['bare_ten_ms'])}; × bare: " + ", ".join(
                    f"{k} {r[f'{k}_vs_bare']}" for k in parts), "report")
    if w == "pickup_parts":
        parts = ("commit_to_notify", "notify_to_claim_sent", "claim_sent_to_update",
                 "update_to_rows", "rows_to_start")
        return ("pickup p50 (ms), phase by phase: " + ", ".join(
                    f"{k} {r[f'{k}_p50_ms']}" for k in parts), "report")
    return json.dumps(r), ""


def section(results: list[dict[str, Any]], started: datetime, took: float) -> str:
    sys.path.insert(0, str(HERE))
    from _common import machine

    m = machine()
    pg = next((r for r in results if "postgres" in r), {})
    database = ("ORCH_DATABASE_URL" if os.environ.get("ORCH_DATABASE_URL")
                else "embedded PostgreSQL")
    lines = [
        BEGIN,
        "## Latest `bench/run_all.py`",
        "",
        f"- date: {started:%Y-%m-%d %H:%M} UTC, took {took / 60:.1f} min; commit {commit()}",
        f"- machine: {m['cpus']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux "
        f"{m['kernel']}, Python {m['python']}; load average at the end {m['load_avg']}",
        f"- database: {database} {pg.get('postgres', '?')}, fsync={pg.get('fsync', '?')}, "
        f"synchronous_commit={pg.get('synchronous_commit', '?')}",
        "",
        "| workload | result | target | seconds |",
        "|---|---|---|---|",
    ]
    for r in results:
        result, target = summary(r)
        lines.append(f"| {r['bench']} | {result} | {target} | {r.get('seconds', '')} |")
    lines += ["", "<details><summary>raw JSON lines</summary>", "", "```"]
    lines += [json.dumps(r) for r in results]
    lines += ["```", "", "</details>", END]
    return "\n".join(lines)


def write(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in current and END in current:
        head, _, rest = current.partition(BEGIN)
        old, _, tail = rest.partition(END)
        others = [line for line in old.splitlines()
                  if line.startswith("## ") and line != "## Latest `bench/run_all.py`"]
        if others:
            # Someone's section ended up between the markers: replacing the
            # block would erase it. Say where instead of writing.
            raise SystemExit(f"{RESULTS}: sections between the run_all markers would be "
                             f"overwritten ({', '.join(others[:3])}); move the begin marker "
                             "to just before '## Latest `bench/run_all.py`'")
        updated = head + text + tail
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each latency workload (pickup, chain10, fanout50)")
    parser.add_argument("--only", default="", help="comma-separated workloads")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(WORKLOADS)
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    started = datetime.now(UTC)
    began = time.monotonic()
    results = []
    for name in names:
        for _ in range(args.repeat if name in REPEATED else 1):
            result = run(name)
            print(json.dumps(result), flush=True)
            results.append(result)
    took = time.monotonic() - began
    if not args.no_write:
        write(section(results, started, took))
        print(f"wrote {RESULTS.relative_to(HERE.parent)} ({took / 60:.1f} min)", file=sys.stderr)


if __name__ == "__main__":
    main()
