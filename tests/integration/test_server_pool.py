"""A shared pool handed to ``RunbookServer(pool)`` is big enough for it, or refused at start.

Two servers on one small pool used to starve each other (the listeners and the
group commits' kept connections took every slot; claims waited for good).
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from orch.db.connect import create_pool
from orch.server import RunbookServer
from orch.server.server import PoolTooSmall, pool_need
from tests.integration.helpers import (
    check_in,
    compare,
    fast_settings,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait_job,
)


async def test_a_pool_too_small_for_one_server_is_refused(dsn: str) -> None:
    settings = fast_settings(commit_inflight=2)
    pool = await create_pool(dsn, min_size=1, max_size=pool_need(settings) - 1)
    try:
        with pytest.raises(PoolTooSmall, match=r"max_size 3, it needs 4"):
            await RunbookServer(settings, pool, name="small").run()
    finally:
        await pool.close()


async def test_a_second_server_on_a_full_pool_is_refused_naming_the_first(
    pool: asyncpg.Pool,
) -> None:
    async with running_server(pool, server_name="first"):
        second = RunbookServer(fast_settings(server_name="second"), pool, name="second")
        with pytest.raises(PoolTooSmall, match=r"servers already on this pool: first"):
            await asyncio.wait_for(second.run(), 10)
    # the first one's share is given back when it stops
    async with running_server(pool, server_name="again"):
        pass


async def test_two_servers_on_a_pool_sized_for_both_run_jobs(dsn: str) -> None:
    settings = fast_settings()
    pool = await create_pool(dsn, min_size=1, max_size=2 * pool_need(settings) + 1)
    try:
        async with pool.acquire() as conn:
            rb = await check_in(conn, runbook_doc("Both", [start(), compare("c")]))
        async with running_server(pool, server_name="s1"), \
                running_server(pool, server_name="s2"):
            jobs = []
            for _ in range(6):
                async with pool.acquire() as conn:
                    jobs.append(await start_job(conn, rb))
            for job in jobs:
                assert (await wait_job(pool, job.id, timeout=30)).status == "success"
    finally:
        await pool.close()
