"""The instance log's writer (batched, ordered, bounded) and ``Context.write_log``."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from orch.db.instance_log import InstanceLogWriter
from orch.sdk import Context, InstanceInfo
from tests.integration.helpers import check_in, runbook_doc, start, start_job


async def an_instance(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        runbook = await check_in(conn, runbook_doc(f"Log {uuid.uuid4().hex[:6]}", [start()]))
        job = await start_job(conn, runbook)
        return str(await conn.fetchval(
            "INSERT INTO instances (id, job_id, server, status) "
            "VALUES (gen_random_uuid(), $1::uuid, 's1', 'running') RETURNING id", job.id))


async def lines(pool: asyncpg.Pool, instance: str) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch("SELECT stream, text, activity FROM instance_log "
                            "WHERE instance_id = $1::uuid ORDER BY id", instance)
    return [(r["stream"], r["text"], r["activity"]) for r in rows]


async def test_lines_are_written_in_order_through_the_context(pool: asyncpg.Pool) -> None:
    instance = await an_instance(pool)
    writer = InstanceLogWriter(pool, max_batch=3)
    task = asyncio.create_task(writer.run(), name="instance-log")
    info = InstanceInfo(instance_id=instance, log_sink=writer)
    ctx = Context(info, "say", "Say", str(uuid.uuid4()))
    assert ctx.streams_log
    for i in range(7):
        ctx.write_log(f"line {i}", "stdout" if i % 2 else "log")
    await writer.flush()
    ctx.write_log("x" * 70_000)
    writer.close()
    await task
    got = await lines(pool, instance)
    assert [t for _, t, _ in got[:7]] == [f"line {i}" for i in range(7)]
    assert {a for _, _, a in got} == {"say"}
    assert got[1][0] == "stdout" and got[0][0] == "log"
    assert got[7][1].endswith("[4464 more characters]")
    with pytest.raises(ValueError):
        ctx.write_log("?", "debug")


async def test_a_flood_is_bounded_and_says_how_much_was_dropped(pool: asyncpg.Pool) -> None:
    instance = await an_instance(pool)
    writer = InstanceLogWriter(pool, max_pending=10)
    run_id = str(uuid.uuid4())
    for i in range(25):  # nothing writes yet: the queue fills, the rest is counted
        writer.write(instance, run_id, "flood", "stdout", f"line {i}")
    task = asyncio.create_task(writer.run(), name="instance-log")
    writer.close()
    await task
    got = await lines(pool, instance)
    assert [t for _, t, _ in got[:10]] == [f"line {i}" for i in range(10)]
    assert got[10][1] == "[15 lines dropped: the log was written faster than stored]"
    assert len(got) == 11


async def test_lines_of_a_deleted_instance_are_left_out(pool: asyncpg.Pool) -> None:
    writer = InstanceLogWriter(pool)
    writer.write(str(uuid.uuid4()), "", "", "log", "nobody's")
    task = asyncio.create_task(writer.run(), name="instance-log")
    writer.close()
    await task
    assert await pool.fetchval("SELECT count(*) FROM instance_log") == 0


def test_without_an_instance_log_write_log_only_logs() -> None:
    ctx = Context(InstanceInfo(), "a", "A", "r")
    assert not ctx.streams_log
    ctx.write_log("fine")  # goes to the structured log
