"""Gateways with their live feed on 127.0.0.1 over the per-test database, and a socket helper.

``gateways()`` starts one more gateway (its own pool, so several behave like
several processes against one database); ``Socket`` wraps a websocket with
JSON frames and deadline-bound waits.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest_asyncio
from aiohttp import web

from orch.client import Client
from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin
from orch.db.connect import create_pool
from orch.gateway import make_app
from orch.gateway.live import LIVE, LiveFeed, LiveOptions
from tests.integration.gateway.conftest import ADMIN_TOKEN

FINAL = ("success", "warning", "failed", "stopped")


class Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def subscribe(self, **spec: Any) -> dict[str, Any]:
        """Subscribe and return the ``subscribed`` frame (anything else fails)."""
        await self.send({"subscribe": spec})
        frame = await self.frame()
        assert frame["type"] == "subscribed", frame
        return frame

    async def frame(self, timeout: float = 15.0) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def events_until(
        self, done: Callable[[list[dict[str, Any]]], bool], *, timeout: float = 30.0,
        frames: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Events (of every subscription) until ``done(events)``; fails after ``timeout``."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not done(events):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out with {len(events)} events"
            frame = await self.frame(left)
            if frames is not None:
                frames.append(frame)
            assert frame["type"] == "events", frame
            events.extend(frame["events"])
        return events

    async def nothing(self, seconds: float = 0.3) -> None:
        """No frame arrives within ``seconds`` (used after a deterministic barrier)."""
        try:
            msg = await asyncio.wait_for(self.ws.receive(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {msg.data!r}")


@dataclass
class Gateway:
    url: str
    app: web.Application
    runner: web.AppRunner
    pool: asyncpg.Pool
    http: aiohttp.ClientSession
    client: Client
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)
    stopped: bool = False

    async def stop(self) -> None:
        """Shut the gateway down (closing its sockets) and release what it holds."""
        if self.stopped:
            return
        self.stopped = True
        await self.runner.cleanup()
        for ws in self.sockets:
            await ws.close()
        await self.http.close()
        await self.client.close()
        await self.pool.close()

    @property
    def feed(self) -> LiveFeed:
        return self.app[LIVE]

    async def socket(self, token: str | None = ADMIN_TOKEN, **kw: Any) -> Socket:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        ws = await self.http.ws_connect(f"{self.url}/api/v1/live", headers=headers, **kw)
        self.sockets.append(ws)
        return Socket(ws)


async def eventually(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture(loop_scope="function")
async def gateways(dsn: str) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """``await gateways(options=LiveOptions(...))`` → a running gateway; all stop at the end."""
    started: list[Gateway] = []
    admin = await asyncpg.connect(dsn)
    try:
        await bootstrap_admin(admin, None, token=ADMIN_TOKEN, password="test-password")
    finally:
        await admin.close()

    async def start(options: LiveOptions | None = None) -> Gateway:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        app = make_app(Settings(), pool)
        if options is not None:
            app[LIVE].configure(options)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        gw = Gateway(url=url, app=app, runner=runner, pool=pool, http=aiohttp.ClientSession(),
                     client=Client(url, ADMIN_TOKEN))
        started.append(gw)
        await gw.feed.reader.started.wait()
        return gw

    try:
        yield start
    finally:
        for gw in reversed(started):
            await gw.stop()
