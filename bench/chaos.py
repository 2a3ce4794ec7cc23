"""chaos: jobs keep finishing, exactly once, while runbook servers are SIGKILLed.

1,000 jobs of a 10-activity runbook (start, then non-rerunnable ``effect``
and rerunnable ``step`` activities in turn, the last a step, each appending
one line to a file and sleeping a little) are started at a steady rate over 3 runbook
server processes with the default settings (heartbeat 1 s, timeout 3 s).
Every ``--kill-every`` seconds one server (in turn) is SIGKILLed and
started again ``--restart-after`` seconds later. A failed (interrupted) run
follows its link like a successful one, so every job should end ``success``.

Prints one JSON line: jobs finished, lost (not finished, must be 0),
non-rerunnable activities run twice (must be 0, counted from the side-effect
file), rerunnable ones run again, interrupted runs, takeovers, and the
longest gap between a kill and the takeover of one of the killed server's
instances (target ≤ 5 s), and instances missing their claim's ``job running``
event or holding it twice (both must be 0), with how many jobs were pushed to an
idle server by their start.

    python bench/chaos.py [--jobs 1000] [--rate 20] [--kill-every 6] [--restart-after 4]
    python bench/chaos.py --failover [--failover-after 20]

``--failover`` kills the PostgreSQL primary instead (a primary and a
synchronous standby on loopback; see ``failover()``): jobs finished, lost,
non-rerunnable activities run twice, seconds from the primary's death to the
first new activity result (target ≤ 10 s).

The servers are this file run as ``python bench/chaos.py --serve NAME``: the
``orch server`` CLI with the benchmark's two activity types installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orch.sdk import Context, Inputs, NoData, activity
from orch.sdk.registry import default_registry

PACK = "chaos"
EFFECTS = ("e1", "e3", "e5", "e7")
STEPS = ("s2", "s4", "s6", "s8", "s9")
"""The last is rerunnable: an interrupted run there would have no link to follow."""


class EffectInputs(Inputs):
    file: str
    seconds: float = 0.0



def _count_effects(effects: Path) -> tuple[int, int]:
    """From the side-effect file (a line "job activity" per effect): how many
    non-rerunnable effects happened more than once, and how many extra times
    rerunnable steps ran."""
    lines: dict[tuple[str, str], int] = {}
    for line in effects.read_text().splitlines() if effects.exists() else []:
        job, _, act = line.partition(" ")
        lines[(job, act)] = lines.get((job, act), 0) + 1
    twice = sum(1 for (_, a), n in lines.items() if a in EFFECTS and n > 1)
    again = sum(n - 1 for (_, a), n in lines.items() if a in STEPS and n > 1)
    return twice, again

_CLAIM_EVENTS = """
SELECT count(*) FILTER (WHERE x.n = 0) AS missing, count(*) FILTER (WHERE x.n > 1) AS twice
  FROM (SELECT (SELECT count(*) FROM events e
                 WHERE e.job_id = i.job_id AND e.instance_id = i.id AND e.kind = 'job'
                   AND e.status = 'running') AS n
          FROM instances i
         WHERE i.job_id = ANY($1::uuid[]) AND i.triggered_by IS NULL) x
"""


async def _claim_events(pool: Any, job_ids: list[Any]) -> dict[str, int]:
    """Instances without their claim's 'job running' event, or with it twice (must be 0):
    a lean claim's (or a push's) events come with the instance's first commit, or with a
    takeover; and how many jobs their start pushed to an idle server."""
    row = await pool.fetchrow(_CLAIM_EVENTS, job_ids)
    pushed = await pool.fetchval(
        "SELECT count(*) FROM events WHERE job_id = ANY($1::uuid[]) AND kind = 'job'"
        " AND status = 'queued' AND data ? 'pushed_to'", job_ids)
    return {"missing": row["missing"], "twice": row["twice"], "pushed": pushed}


async def _append(ctx: Context, inputs: EffectInputs) -> NoData:
    line = f"{ctx.info.job_id} {ctx.activity_id}\n".encode()
    fd = os.open(inputs.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one O_APPEND write: whole lines whatever the others do
    finally:
        os.close(fd)
    await asyncio.sleep(inputs.seconds)
    return NoData()


@activity("chaos_effect", display_name="Effect", category="Benchmark", rerunnable=False)
async def chaos_effect(ctx: Context, inputs: EffectInputs) -> NoData:
    """A side effect that must never happen twice."""
    return await _append(ctx, inputs)


@activity("chaos_step", display_name="Step", category="Benchmark", rerunnable=True)
async def chaos_step(ctx: Context, inputs: EffectInputs) -> NoData:
    """A side effect that may happen again after a takeover."""
    return await _append(ctx, inputs)


def install() -> None:
    registry = default_registry()
    if registry.get(f"{PACK}:chaos_effect") is None:
        registry.add_pack(PACK, (chaos_effect, chaos_step))


def runbook(file: Path, seconds: float) -> dict[str, Any]:
    ids = ["start", *sorted(EFFECTS + STEPS, key=lambda a: int(a[1:]))]
    acts: list[dict[str, Any]] = [{"id": "start", "type": "initialize_data",
                                   "properties": {"parameters": []}}]
    for aid in ids[1:]:
        kind = "chaos_effect" if aid in EFFECTS else "chaos_step"
        acts.append({"id": aid, "type": kind,
                     "properties": {"file": str(file), "seconds": seconds}})
    either = [{"data": "Status", "op": "equals", "value": "success"},
              {"data": "Status", "op": "equals", "value": "failed"}]
    links = [{"from": a, "to": b, "include": either} for a, b in itertools.pairwise(ids)]
    return {"format": "orch.runbook/1", "name": f"chaos {uuid.uuid4().hex[:8]}",
            "folder": "/Bench", "activities": acts, "links": links}


class Server:
    def __init__(self, dsn: str, name: str) -> None:
        self.dsn = dsn
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, ORCH_DATABASE_URL=self.dsn, ORCH_LOG_LEVEL="WARNING",
                   ORCH_LOG_FORMAT="json")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", self.name], env=env,
            stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _up(pool: Any, server: Server) -> None:
    assert server.proc is not None
    while not await pool.fetchval(
        "SELECT 1 FROM servers WHERE name = $1 AND pid = $2 AND status = 'up'",
        server.name, server.proc.pid,
    ):
        if server.proc.poll() is not None:
            raise RuntimeError(f"server {server.name} exited at start")
        await asyncio.sleep(0.05)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import check_in, database

    from orch.db.connect import create_pool
    from orch.db.jobs import create_job
    from orch.logging import configure

    configure(level="WARNING")
    install()
    work = Path(tempfile.mkdtemp(prefix="orch-chaos-"))
    effects = work / "effects"
    async with database() as dsn:
        pool = await create_pool(dsn, min_size=2, max_size=4)
        servers = [Server(dsn, f"chaos-{i}") for i in range(1, args.servers + 1)]
        kills: list[tuple[str, float, list[uuid.UUID]]] = []
        try:
            rb = await check_in(pool, runbook(effects, args.seconds))
            for s in servers:
                s.start()
            for s in servers:
                await _up(pool, s)
            started = time.time()
            job_ids: list[uuid.UUID] = []
            submitting = True
            submitted = asyncio.Event()

            async def submit() -> None:
                nonlocal submitting
                interval = 1.0 / args.rate
                t0 = time.monotonic()
                for i in range(args.jobs):
                    async with pool.acquire() as conn:
                        job = await create_job(conn, runbook=rb, parameters={}, created_by=None)
                    job_ids.append(uuid.UUID(job.id))
                    delay = t0 + (i + 1) * interval - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                submitting = False
                submitted.set()

            async def restart(victim: Server) -> None:
                await asyncio.sleep(args.restart_after)
                victim.start()

            async def chaos(tg: asyncio.TaskGroup) -> None:
                turn = 0
                while submitting:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(submitted.wait(), args.kill_every)
                    alive = [s for s in servers if s.proc is not None and s.proc.poll() is None]
                    if not submitting or len(alive) < 2:
                        continue  # always leave one server running
                    victim = servers[turn % len(servers)]
                    turn += 1
                    if victim not in alive:
                        continue
                    victim.kill()
                    at = time.time()
                    owned = [r[0] for r in await pool.fetch(
                        "SELECT id FROM instances WHERE server = $1 AND status = 'running'",
                        victim.name)]
                    kills.append((victim.name, at, owned))
                    tg.create_task(restart(victim), name=f"chaos:restart:{victim.name}")

            async with asyncio.TaskGroup() as tg:
                tg.create_task(submit(), name="chaos:submit")
                tg.create_task(chaos(tg), name="chaos:kill")
            for s in servers:  # everyone back for the end
                if s.proc is None or s.proc.poll() is not None:
                    s.start()
            deadline = time.monotonic() + args.drain_timeout
            while time.monotonic() < deadline:
                left = await pool.fetchval(
                    "SELECT count(*) FROM jobs WHERE id = ANY($1::uuid[])"
                    " AND status IN ('queued', 'running')", job_ids)
                if left == 0:
                    break
                await asyncio.sleep(0.5)
            elapsed = time.time() - started
            statuses = {r[0]: r[1] for r in await pool.fetch(
                "SELECT status, count(*) FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status",
                job_ids)}
            errors = {r[0]: r[1] for r in await pool.fetch(
                "SELECT coalesce(error, status), count(*) FROM instances"
                " WHERE status NOT IN ('success', 'running') GROUP BY 1 ORDER BY 2 DESC LIMIT 3")}
            interrupted = await pool.fetchval(
                "SELECT count(*) FROM activity_runs WHERE status = 'interrupted'")
            takeovers = await pool.fetchval(
                "SELECT count(*) FROM events WHERE data ? 'taken_over_from'")
            downs = await pool.fetchval(
                "SELECT count(*) FROM events WHERE kind = 'server' AND status = 'down'")
            claim_events = await _claim_events(pool, job_ids)
            gaps: list[float] = []
            per_kill: list[float | None] = []
            never_taken = 0
            for name, at, owned in kills:
                start_of_kill = len(gaps)
                for iid in owned:
                    first = await pool.fetchval(
                        "SELECT min(at) FROM events WHERE instance_id = $1"
                        " AND data->>'taken_over_from' = $2 AND at >= $3",
                        iid, name, datetime.fromtimestamp(at, UTC))
                    if first is None:
                        never_taken += 1
                    else:
                        gaps.append(first.timestamp() - at)
                mine = gaps[start_of_kill:]
                per_kill.append(round(max(mine), 2) if mine else None)
        finally:
            for s in servers:
                s.stop()
            await pool.close()
    twice, again = _count_effects(effects)
    shutil.rmtree(work, ignore_errors=True)
    finished = sum(n for s, n in statuses.items() if s not in ("queued", "running"))
    return {
        "bench": "chaos",
        "jobs": args.jobs,
        "servers": args.servers,
        "finished": finished,
        "lost": args.jobs - finished,
        "statuses": statuses,
        "errors": errors,
        "non_rerunnable_twice": twice,
        "rerunnable_rerun": again,
        "interrupted_runs": interrupted,
        "kills": len(kills),
        "instances_orphaned": sum(len(o) for _, _, o in kills),
        "orphans_never_taken_over": never_taken,
        "takeovers": takeovers,
        "servers_marked_down": downs,
        "claim_events": claim_events,
        "max_kill_to_takeover_s": round(max(gaps), 3) if gaps else None,
        "median_kill_to_takeover_s": round(sorted(gaps)[len(gaps) // 2], 3) if gaps else None,
        "max_gap_per_kill_s": per_kill,
        "elapsed_s": round(elapsed, 1),
        "settings": {"heartbeat_s": 1.0, "timeout_s": 3.0, "kill_every_s": args.kill_every,
                     "restart_after_s": args.restart_after, "activity_s": args.seconds,
                     "rate_per_s": args.rate},
    }


async def failover(args: argparse.Namespace) -> dict[str, Any]:
    """``--failover``: the database dies instead of a server.

    A real primary and a synchronous streaming standby on loopback
    (``tests/integration/replication/cluster.py``: the machine's PostgreSQL 15,
    fsync on); the servers and this client are given the multi-host URL with
    ``target_session_attrs=read-write``. ``--failover-after`` seconds into the
    submissions the primary's postmaster and backends are SIGKILLed and the
    standby promoted (``pg_ctl promote``). Reported: jobs finished and lost,
    non-rerunnable activities run twice, the time from the primary's death to
    its promotion, and to the first activity result committed after it (commit
    timestamps: ``track_commit_timestamp`` is on).
    """
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from orch.db.connect import create_pool
    from orch.db.jobs import create_job
    from orch.db.lost import RETRYABLE
    from orch.db.migrate import migrate
    from orch.logging import configure
    from tests.integration.replication.cluster import PgPair

    configure(level="WARNING")
    install()
    work = Path(tempfile.mkdtemp(prefix="orch-chaos-"))
    effects = work / "effects"
    effects.touch()
    effects.chmod(0o666)
    pair = PgPair(settings={"fsync": "on", "track_commit_timestamp": "on",
                            "max_connections": "300"})
    await asyncio.to_thread(pair.start)
    dsn = pair.url
    death: float | None = None
    promoted: float | None = None
    try:
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=2, max_size=4)
        servers = [Server(dsn, f"chaos-{i}") for i in range(1, args.servers + 1)]
        try:
            rb = await _check_in(pool, runbook(effects, args.seconds))
            for s in servers:
                s.start()
            for s in servers:
                await _up(pool, s)
            started = time.time()
            job_ids: list[uuid.UUID] = []
            retried = 0

            async def submit() -> None:
                nonlocal retried
                interval = 1.0 / args.rate
                t0 = time.monotonic()
                for i in range(args.jobs):
                    while True:
                        try:
                            async with pool.acquire() as conn:
                                job = await create_job(conn, runbook=rb, parameters={},
                                                       created_by=None)
                            break
                        except RETRYABLE:
                            retried += 1  # no primary yet: the client retries
                            await asyncio.sleep(0.05)
                    job_ids.append(uuid.UUID(job.id))
                    delay = t0 + (i + 1) * interval - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)

            async def kill() -> None:
                nonlocal death, promoted
                await asyncio.sleep(args.failover_after)
                await asyncio.to_thread(pair.a.kill)  # returns once every process is gone
                death = time.time()  # nothing commits on it after this
                await asyncio.to_thread(pair.b.promote)
                promoted = time.time()

            async with asyncio.TaskGroup() as tg:
                tg.create_task(submit(), name="chaos:submit")
                tg.create_task(kill(), name="chaos:failover")

            async def read(query: str, *params: Any) -> Any:
                while True:
                    try:
                        return await pool.fetchval(query, *params)
                    except RETRYABLE:
                        await asyncio.sleep(0.1)

            deadline = time.monotonic() + args.drain_timeout
            while time.monotonic() < deadline:
                left = await read("SELECT count(*) FROM jobs WHERE id = ANY($1::uuid[])"
                                  " AND status IN ('queued', 'running')", job_ids)
                if left == 0:
                    break
                await asyncio.sleep(0.5)
            elapsed = time.time() - started
            assert death is not None and promoted is not None
            rows = await pool.fetch(
                "SELECT status, count(*) FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status",
                job_ids)
            statuses = {r[0]: r[1] for r in rows}
            first_result = await pool.fetchval(
                "SELECT min(pg_xact_commit_timestamp(xmin)) FROM activity_runs"
                " WHERE ended_at IS NOT NULL AND pg_xact_commit_timestamp(xmin) > $1",
                datetime.fromtimestamp(death, UTC))
            interrupted = await pool.fetchval(
                "SELECT count(*) FROM activity_runs WHERE status = 'interrupted'")
            takeovers = await pool.fetchval(
                "SELECT count(*) FROM events WHERE data ? 'taken_over_from'")
            downs = await pool.fetchval(
                "SELECT count(*) FROM events WHERE kind = 'server' AND status = 'down'")
            in_recovery = await pool.fetchval("SELECT pg_is_in_recovery()")
            claim_events = await _claim_events(pool, job_ids)
        finally:
            for s in servers:
                s.stop()
            await pool.close()
    finally:
        await asyncio.to_thread(pair.close)
    twice, again = _count_effects(effects)
    shutil.rmtree(work, ignore_errors=True)
    finished = sum(n for st, n in statuses.items() if st not in ("queued", "running"))
    return {
        "bench": "chaos-failover",
        "jobs": args.jobs,
        "servers": args.servers,
        "finished": finished,
        "lost": args.jobs - finished,
        "statuses": statuses,
        "non_rerunnable_twice": twice,
        "rerunnable_rerun": again,
        "interrupted_runs": interrupted,
        "takeovers": takeovers,
        "servers_marked_down": downs,
        "claim_events": claim_events,
        "submissions_retried": retried,
        "death_to_promoted_s": round(promoted - death, 3),
        "death_to_first_result_s": (round(first_result.timestamp() - death, 3)
                                    if first_result is not None else None),
        "new_primary_in_recovery": in_recovery,
        "elapsed_s": round(elapsed, 1),
        "settings": {"heartbeat_s": 1.0, "timeout_s": 3.0, "activity_s": args.seconds,
                     "rate_per_s": args.rate, "failover_after_s": args.failover_after,
                     "standby": "synchronous", "postgres": str(pair.bin)},
    }


async def _check_in(pool: Any, doc: dict[str, Any]) -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import check_in

    return await check_in(pool, doc)


def serve(name: str) -> None:
    install()
    sys.argv = ["orch", "server", "--name", name]
    from orch.cli.main import main as orch_main

    orch_main()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--servers", type=int, default=3)
    ap.add_argument("--rate", type=float, default=20.0, help="jobs started per second")
    ap.add_argument("--seconds", type=float, default=0.2, help="each activity's sleep")
    ap.add_argument("--kill-every", type=float, default=5.0)
    ap.add_argument("--restart-after", type=float, default=4.0)
    ap.add_argument("--drain-timeout", type=float, default=180.0)
    ap.add_argument("--failover", action="store_true",
                    help="kill the PostgreSQL primary and promote its synchronous standby "
                         "instead of killing servers")
    ap.add_argument("--failover-after", type=float, default=20.0,
                    help="seconds into the submissions (--failover)")
    parsed = ap.parse_args()
    result = asyncio.run(failover(parsed) if parsed.failover else main(parsed))
    print(json.dumps(result), flush=True)
