"""Shared set-up of the benchmarks: a database, a runbook server process, runbooks.

Embedded PostgreSQL in a temporary folder (PostgreSQL defaults: fsync and
synchronous_commit on) unless ORCH_DATABASE_URL names another. The runbook
server runs as its own process (``orch server``), as in production; the
benchmark process is the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from orch.db.connect import connect, create_pool
from orch.db.embedded import EmbeddedPostgres
from orch.db.migrate import migrate
from orch.logging import configure

configure(level="WARNING")  # logs to stderr: stdout carries the one JSON line

_MAIN = "from orch.cli.main import main; main()"


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
        }
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def server_process(dsn: str, name: str, **env: str) -> AsyncIterator[subprocess.Popen]:
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
            proc.wait(30)
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


__all__ = ["check_in", "create_pool", "database", "median", "percentile", "server_process",
           "settings_of"]
