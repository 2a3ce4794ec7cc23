"""Fixtures over a real primary + synchronous standby (``cluster.PgPair``): the pair,
a pool that rides out the failover, an in-process gateway on the multi-host URL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest_asyncio
from aiohttp import web

from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin
from orch.db.connect import create_pool
from orch.db.lost import RETRYABLE
from orch.db.migrate import migrate
from orch.gateway import make_app
from tests.integration.replication.cluster import PgPair

T = TypeVar("T")
TOKEN = "orch_replication_test_token"


@pytest_asyncio.fixture(loop_scope="function")
async def pair() -> AsyncIterator[PgPair]:
    """A migrated primary + synchronous standby; ``pair.url`` is the multi-host URL."""
    p = PgPair()
    try:
        await asyncio.to_thread(p.start)
        await migrate(p.url)
        yield p
    finally:
        await asyncio.to_thread(p.close)


@pytest_asyncio.fixture(loop_scope="function")
async def pool(pair: PgPair) -> AsyncIterator[asyncpg.Pool]:
    """The test's own pool on the multi-host URL (its queries go through ``retrying``)."""
    p = await create_pool(pair.url, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


async def retrying(call: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """``call()`` until it does not fail for a lost database (the test's own reads
    across a failover); other errors fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except RETRYABLE:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def until(probe: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Wait until ``probe()`` is truthy (a lost database counts as not yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await probe()
        except RETRYABLE:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@dataclass
class Gateway:
    url: str
    app: web.Application
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=body,
                                     headers=headers or {}) as resp:
            data = await resp.json(content_type=None)
            return resp.status, data


@pytest_asyncio.fixture(loop_scope="function")
async def gateway(pair: PgPair) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """``await gateway(**settings)``: a gateway on the multi-host URL with the admin token."""
    made: list[tuple[web.AppRunner, aiohttp.ClientSession, asyncpg.Pool]] = []

    async def start(**settings: Any) -> Gateway:
        gw_pool = await create_pool(pair.url, min_size=2, max_size=6)
        async with gw_pool.acquire() as conn:
            await bootstrap_admin(conn, None, token=TOKEN, password="replication-pw")
        app = make_app(Settings(**settings), gw_pool)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"},
                                     timeout=aiohttp.ClientTimeout(total=60))
        made.append((runner, http, gw_pool))
        return Gateway(f"http://127.0.0.1:{runner.addresses[0][1]}", app, http)

    try:
        yield start
    finally:
        for runner, http, gw_pool in made:
            await http.close()
            await runner.cleanup()
            await gw_pool.close()
