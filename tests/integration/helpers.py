"""Helpers for integration tests: check in runbooks, start jobs, wait with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from actors.store import InstanceRef
from orch.config import Settings
from orch.db.jobs import JobRow, RunbookRow, create_job, get_job, resolve_runbook
from orch.db.store import PgStore
from orch.db.writer import GroupCommitWriter
from orch.server import RunbookServer
from orch.sql import Q

T = TypeVar("T")

FINAL = ("success", "warning", "failed", "stopped")


def runbook_doc(
    name: str,
    activities: list[dict[str, Any]],
    links: list[tuple[str, str]] | None = None,
    *,
    folder: str = "/Tests",
    max_concurrent_jobs: int = 0,
    returns: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """A document; ``links`` default to a chain in activity order."""
    if links is None:
        links = [(a["id"], b["id"]) for a, b in itertools.pairwise(activities)]
    return {
        "format": "orch.runbook/1",
        "name": name,
        "folder": folder,
        "max_concurrent_jobs": max_concurrent_jobs,
        "returns": [{"name": r} for r in returns],
        "activities": activities,
        "links": [{"from": a, "to": b} for a, b in links],
    }


def start(params: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"id": "start", "type": "initialize_data",
            "properties": {"parameters": [{"name": p} for p in params]}}


def wait(aid: str, seconds: float) -> dict[str, Any]:
    return {"id": aid, "type": "wait", "properties": {"seconds": seconds}}


def compare(aid: str, value: str = "a", to: str = "a") -> dict[str, Any]:
    return {"id": aid, "type": "compare_values",
            "properties": {"value": value, "op": "equals", "to": to}}


async def check_in(conn: asyncpg.Connection, doc: dict[str, Any]) -> RunbookRow:
    from orch.db.catalog import check_in_new
    from orch.document.validate import load

    result = await check_in_new(conn, load(doc))
    row = await resolve_runbook(conn, result.id)
    assert row is not None
    return row


async def start_job(
    conn: asyncpg.Connection, runbook: RunbookRow, params: dict[str, Any] | None = None, **kw: Any
) -> JobRow:
    return await create_job(conn, runbook=runbook, parameters=params or {}, created_by=None, **kw)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, interval: float = 0.02
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def job_status(pool: asyncpg.Pool, job_id: str) -> str:
    async with pool.acquire() as conn:
        job = await get_job(conn, job_id)
    assert job is not None
    return job.status


async def wait_job(pool: asyncpg.Pool, job_id: str, *, timeout: float = 20.0) -> JobRow:
    """Wait until the job ended; return it."""

    async def probe() -> JobRow | None:
        async with pool.acquire() as conn:
            job = await get_job(conn, job_id)
        return job if job is not None and job.status in FINAL else None

    return await eventually(probe, timeout=timeout)


def fast_settings(**kw: Any) -> Settings:
    """Settings with intervals short enough for tests."""
    base: dict[str, Any] = {
        "server_name": "s1",
        "capacity": 100,
        "heartbeat_seconds": 0.5,
        "poll_seconds": 0.5,
        "server_timeout_seconds": 5.0,
        "shutdown_grace_seconds": 5.0,
        "pool_size": 4,
    }
    base.update(kw)
    return Settings(**base)


@contextlib.asynccontextmanager
async def running_server(
    dsn_or_pool: str | asyncpg.Pool, settings: Settings | None = None, **kw: Any
) -> AsyncIterator[RunbookServer]:
    """An in-process runbook server, shut down (hand-over) on exit."""
    settings = settings or fast_settings(**kw)
    async with RunbookServer(settings, dsn_or_pool, name=settings.server_name).serving() as srv:
        yield srv


async def server_w(conn: asyncpg.Connection, name: str = "w", capacity: int = 9) -> None:
    """A server's row (``w`` unless named; no process): 'up', with every activity type
    checked in (once: a second call leaves the row as it is)."""
    await conn.execute(
        "INSERT INTO servers (name, status, capacity, activity_types)"
        " SELECT $1, 'up', $2, array_agg(DISTINCT t)"
        "   FROM runbook_versions, unnest(activity_types) AS t"
        " ON CONFLICT (name) DO NOTHING", name, capacity)


async def claimed_instance(pool: asyncpg.Pool) -> InstanceRef:
    """A one-activity runbook's job, claimed by server ``w``: its instance, epoch 1."""
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("One", [start(), compare("a")]))
        await start_job(conn, rb)
        await server_w(conn)
        (row,) = await conn.fetch("SELECT * FROM orch_claim_jobs('w', 1, 0, 30)")
    return InstanceRef(job_id=str(row["job_id"]), instance_id=str(row["instance_id"]), epoch=1)


async def lean_claimed_instance(
    pool: asyncpg.Pool, retry: dict[str, Any] | None = None
) -> InstanceRef:
    """A one-activity runbook's job (with ``retry``, its retry policy) lean-claimed by
    server ``w`` (``claim_jobs_fast``): its instance, epoch 1, its claim events not
    written yet (its first group commit writes them)."""
    async with pool.acquire() as conn:
        doc = runbook_doc(f"Lean {uuid.uuid4().hex[:6]}", [start(), compare("a")])
        if retry is not None:
            doc["retry"] = retry
        job = await start_job(conn, await check_in(conn, doc))
        await server_w(conn)
        (row,) = await conn.fetch(Q.claim_jobs_fast, "w", 1, 0)
    assert row["job_id"] == job.id
    return InstanceRef(job_id=job.id, instance_id=row["instance_id"], epoch=1)


@contextlib.asynccontextmanager
async def running_writer(
    pool: asyncpg.Pool, batches: list[int] | None = None, **options: Any
) -> AsyncIterator[tuple[GroupCommitWriter, PgStore]]:
    """Server ``w``'s group commit writer, running, and a PgStore on it (noting each
    batch's size in ``batches``; ``options`` for the writer); closed, with
    everything written, on exit."""
    on_batch = None if batches is None else (lambda n, _s: batches.append(n))
    writer = GroupCommitWriter(pool, "w", on_batch=on_batch, **options)
    task = asyncio.create_task(writer.run())
    try:
        yield writer, PgStore(pool, writer)
    finally:
        writer.close()
        await task
