"""Activities that wait keep waiting through a failover: a monitor keeps triggering (its
trigger waits for the new primary instead of failing the monitor and its job), an
approval asked before the failover is decided after it."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.integration.helpers import start_job
from tests.integration.packs.helpers import check_in_with, core_registry, server
from tests.integration.packs.test_gateway_state import approval_doc
from tests.integration.packs.test_monitors_pg import ticker
from tests.integration.replication.cluster import PgPair
from tests.integration.replication.conftest import Gateway, until

pytestmark = pytest.mark.slow


async def test_a_monitor_triggers_on_across_a_failover(
    pair: PgPair, pool: asyncpg.Pool,
) -> None:
    reg = core_registry()
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, ticker("Watch"), reg)
    async with server(pair.url, "m1", reg):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)

        async def triggered() -> int:
            return int(await pool.fetchval(
                "SELECT count(*) FROM instances WHERE job_id = $1"
                " AND triggered_by IS NOT NULL AND status = 'success'", uuid.UUID(job.id)))

        await until(lambda: _at_least(triggered, 2))
        await asyncio.to_thread(pair.fail_over)  # triggers fire while there is no primary
        after = await until(triggered)
        await until(lambda: _at_least(triggered, after + 3))
        status = await pool.fetchval("SELECT status FROM jobs WHERE id = $1", uuid.UUID(job.id))
        assert status == "running"
        monitors = await pool.fetch(
            "SELECT status FROM instances WHERE job_id = $1 AND triggered_by IS NULL",
            uuid.UUID(job.id))
        assert [r["status"] for r in monitors] == ["running"]


async def _at_least(count: object, n: int) -> bool:
    return await count() >= n  # type: ignore[operator,no-any-return]


async def test_an_approval_asked_before_a_failover_is_decided_after_it(
    pair: PgPair, pool: asyncpg.Pool, gateway: object,
) -> None:
    gw: Gateway = await gateway()  # type: ignore[operator]
    reg = core_registry()
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, approval_doc("Ask"), reg)
    async with server(pair.url, "s1", reg):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)

        async def pending() -> str | None:
            status, body = await gw.call("GET", "/api/v1/approvals?status=pending")
            return body["items"][0]["id"] if status == 200 and body["items"] else None

        approval = await until(pending)
        await asyncio.to_thread(pair.fail_over)  # the activity's polls find no primary

        async def approved() -> bool:
            status, body = await gw.call("POST", f"/api/v1/approvals/{approval}",
                                         {"decision": "approve"})
            assert status in (200, 503), body
            return status == 200

        await until(approved)

        async def ended() -> str | None:
            status = await pool.fetchval("SELECT status FROM jobs WHERE id = $1",
                                         uuid.UUID(job.id))
            return status if status not in ("queued", "running") else None

        assert await until(ended) == "success"
