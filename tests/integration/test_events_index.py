"""An instance's events are read through its job's index (migration 0019: one
b-tree fewer on every event). Not a timing test: among thousands of other
events, each read by instance touches a handful of event rows, counted by the
transaction's own statistics — a scan would read them all."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from orch.sql import Q
from tests.integration.helpers import (
    check_in,
    compare,
    runbook_doc,
    server_w,
    start,
    start_job,
)

OTHERS = 3000


async def _instance(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    """A job claimed by server 'w', its instance with a takeover event, among
    ``OTHERS`` events of other jobs: (job id, instance id)."""
    rb = await check_in(conn, runbook_doc("Indexed", [start(), compare("a")]))
    await start_job(conn, rb)
    await server_w(conn)
    (row,) = await conn.fetch(Q.claim_jobs_fast, "w", 1, 0)  # lean: no claim events
    job, instance = uuid.UUID(str(row["job_id"])), uuid.UUID(str(row["instance_id"]))
    await conn.execute(
        "INSERT INTO events (kind, job_id, instance_id, status)"
        " SELECT 'activity', gen_random_uuid(), gen_random_uuid(), 'success'"
        "   FROM generate_series(1, $1)", OTHERS)
    await conn.execute(
        "INSERT INTO events (kind, job_id, instance_id, status, server, data)"
        " VALUES ('instance', $1, $2, 'running', 'w', $3::jsonb)", job, instance,
        {"taken_over_from": "v", "epoch": 2, "reason": "down"})
    await conn.execute("ANALYZE events")
    return job, instance


async def _events_read(conn: asyncpg.Connection, read: Callable[[], Awaitable[object]]) -> int:
    async with conn.transaction():
        before = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_returned('events'::regclass)")
        await read()
        after = await conn.fetchval(
            "SELECT pg_stat_get_xact_tuples_returned('events'::regclass)")
    return after - before


@pytest.mark.parametrize("query", ["instance_takeovers", "pushed_unstarted", "api_events_page"])
async def test_an_instances_events_are_read_through_its_jobs_index(
    conn: asyncpg.Connection, query: str
) -> None:
    job, instance = await _instance(conn)
    got: list[asyncpg.Record] = []

    async def read() -> None:
        if query == "instance_takeovers":
            got.extend(await conn.fetch(Q.instance_takeovers, instance))
        elif query == "pushed_unstarted":
            got.extend(await conn.fetch(Q.pushed_unstarted, "w"))
        else:
            got.extend(await conn.fetch(Q.api_events_page, None, None, None, instance,
                                        None, None, None, None, 50, None))

    for _ in range(7):  # past the prepared statement's first (custom) plans
        got.clear()
        assert await _events_read(conn, read) < 50
    if query == "instance_takeovers":
        assert [(r["from_server"], r["epoch"], r["reason"]) for r in got] == [("v", 2, "down")]
    elif query == "pushed_unstarted":  # claimed, never started, no claim events of its own
        assert [r["instance_id"] for r in got] == [str(instance)]
    else:
        assert [(r["kind"], r["instance_id"]) for r in got] == [("instance", str(instance))]
    assert job  # (the job the instance's events are found under)
