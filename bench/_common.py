"""Shared set-up of the benchmarks: a database, runbook server processes, runbooks, probes.

Embedded PostgreSQL in a temporary folder (PostgreSQL defaults: fsync and
synchronous_commit on) unless ORCH_DATABASE_URL names another. Runbook
servers run as their own processes (``orch server``), as in production; the
benchmark process is the client. Latencies are read from the timestamps the
server and the database recorded, so how often the client looks does not
change them; the client waits on ``LISTEN orch_events`` rather than polling
in a tight loop, to leave the two cores to the server and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import psutil

from orch.db.connect import connect, create_pool
from orch.db.embedded import EmbeddedPostgres
from orch.db.migrate import migrate
from orch.logging import configure

configure(level="WARNING")  # logs to stderr: stdout carries the one JSON line

_MAIN = "from orch.cli.main import main; main()"
FINAL = ("success", "warning", "failed", "stopped")


@contextlib.asynccontextmanager
async def database() -> AsyncIterator[str]:
    url = os.environ.get("ORCH_DATABASE_URL")
    if url:
        await migrate(url)
        yield url
        return
    folder = tempfile.mkdtemp(prefix="orch-bench-")
    pg = EmbeddedPostgres(folder)
    await pg.start()
    try:
        await migrate(pg.dsn)
        yield pg.dsn
    finally:
        await pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def settings_of(dsn: str) -> dict[str, str]:
    conn = await connect(dsn)
    try:
        return {
            "fsync": await conn.fetchval("SHOW fsync"),
            "synchronous_commit": await conn.fetchval("SHOW synchronous_commit"),
            "postgres": (await conn.fetchval("SHOW server_version")).split()[0],
        }
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def server_process(dsn: str, name: str, **env: str) -> AsyncIterator[subprocess.Popen]:
    """``orch server --name NAME`` in its own process, up and listening when entered."""
    environ = dict(os.environ)
    environ.update({"ORCH_DATABASE_URL": dsn, "ORCH_LOG_LEVEL": "WARNING",
                    "ORCH_LOG_FORMAT": "json"})
    environ.update(env)
    proc = subprocess.Popen([sys.executable, "-c", _MAIN, "server", "--name", name],
                            env=environ)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            deadline = time.monotonic() + 60
            while not await conn.fetchval(
                "SELECT 1 FROM servers WHERE name = $1 AND pid = $2 AND status = 'up'",
                name, proc.pid,
            ):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the runbook server did not start")
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # let it finish connecting its listener
        finally:
            await conn.close()
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def check_in(pool: asyncpg.Pool, doc: dict[str, Any]) -> Any:
    from orch.db.catalog import check_in_new
    from orch.db.jobs import resolve_runbook
    from orch.document.validate import load

    doc = {**doc, "name": f"{doc['name']} {uuid.uuid4().hex[:8]}"}
    async with pool.acquire() as conn:
        result = await check_in_new(conn, load(doc))
        return await resolve_runbook(conn, result.id)


class Waker:
    """LISTEN ``orch_events`` on a connection of its own: wakes the client on every write.

    The runbook server's writes insert events, whose trigger notifies; the
    client re-reads only then (and at least every ``fallback`` seconds).
    """

    def __init__(self, conn: asyncpg.Connection, fallback: float = 0.05) -> None:
        self.conn = conn
        self.fallback = fallback
        self.event = asyncio.Event()

    async def __aenter__(self) -> Waker:
        await self.conn.add_listener("orch_events", self._notified)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.remove_listener("orch_events", self._notified)

    def _notified(self, *_args: object) -> None:
        self.event.set()

    def clear(self) -> None:
        self.event.clear()

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.fallback):
                await self.event.wait()
        self.event.clear()

    async def until(self, check: Callable[[], Any], timeout: float = 600.0,
                    every: float = 0.0, quiet: float = 0.0) -> Any:
        """Re-run the async ``check`` on wake-ups until it returns a truthy value.

        ``every``: least seconds between two checks, so that counting thousands
        of rows does not load the database the benchmark is measuring.
        ``quiet``: seconds before the first check. The latencies are read from
        timestamps the server recorded, so looking later changes no result,
        while a check at once (woken by the job's own notification) would put
        the client's query on the two cores beside the claim being measured.
        """
        deadline = time.monotonic() + timeout
        if quiet > 0:
            await asyncio.sleep(quiet)
        while True:
            self.event.clear()  # before reading: a write during the read wakes us again
            checked = time.monotonic()
            value = await check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("the benchmark's jobs did not finish in time")
            await self.wait()
            pause = every - (time.monotonic() - checked)
            if pause > 0:
                await asyncio.sleep(pause)


async def wait_jobs(waker: Waker, conn: asyncpg.Connection, runbook_id: str, count: int,
                    timeout: float = 600.0, every: float = 0.1) -> None:
    """Until ``count`` jobs of the runbook have ended (checked at most every ``every`` s)."""
    rid = uuid.UUID(runbook_id)

    async def done() -> bool:
        n = await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE runbook_id = $1 AND status = ANY($2::text[])",
            rid, list(FINAL))
        return n >= count

    await waker.until(done, timeout, every)


async def count_waiting(conn: asyncpg.Connection, activity: str) -> int:
    """Runs of ``activity`` started and not finished (one table, no join: cheap to repeat)."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM activity_runs WHERE activity = $1 AND status = 'running'",
        activity))


async def insert_jobs(conn: asyncpg.Connection, runbook: Any, count: int) -> None:
    """``count`` jobs of ``runbook`` committed in one transaction (one wake-up)."""
    from orch.db.jobs import create_job

    async with conn.transaction():
        for _ in range(count):
            await create_job(conn, runbook=runbook, parameters={}, created_by=None)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def postmaster_pid(conn: asyncpg.Connection) -> int | None:
    """The PostgreSQL postmaster serving ``conn`` when it runs on this machine, else None."""
    backend = await conn.fetchval("SELECT pg_backend_pid()")
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(backend).parent()
        if parent is not None:
            return parent.pid
    return None


def postgres_cpu_seconds(postmaster: int | None) -> float:
    """CPU time of one PostgreSQL server: the postmaster and its processes, live and ended."""
    if postmaster is None:
        return float("nan")
    try:
        root = psutil.Process(postmaster)
        t = root.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in root.children():
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        return total
    except psutil.Error:
        return float("nan")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(psutil.virtual_memory().total / 2**30),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg": round(os.getloadavg()[0], 2),
    }


__all__ = [
    "FINAL",
    "Waker",
    "check_in",
    "count_waiting",
    "cpu_seconds",
    "create_pool",
    "database",
    "insert_jobs",
    "machine",
    "median",
    "percentile",
    "postgres_cpu_seconds",
    "postmaster_pid",
    "rss_mb",
    "server_process",
    "settings_of",
    "wait_jobs",
]
