"""A client for the live feed (``GET /api/v1/live``): one websocket, typed frames.

    async with Client.from_env() as orch:
        async for event in follow(orch, job=job_id, after=0):
            print(event.seq, event.kind, event.activity, event.status)

:func:`follow` is what most callers want: the events of one subscription in
``seq`` order, resumed after a dropped connection or a ``lagged`` notice from
the last event seen — no gap, no duplicate. :class:`LiveConnection` is the
socket itself, for several subscriptions at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from orch.api.live import (
    ErrorFrame,
    EventsFrame,
    LaggedFrame,
    LiveEvent,
    LiveFrame,
    SubscribedFrame,
)
from orch.errors import OrchError

if TYPE_CHECKING:
    from orch.client import Client

__all__ = ["LiveClosed", "LiveConnection", "connect", "follow"]

_decoder = msgspec.json.Decoder(LiveFrame)


class LiveClosed(OrchError):
    """The live feed's connection closed."""


class LiveConnection:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def subscribe(
        self,
        *,
        job: str | None = None,
        runbook: str | None = None,
        all: bool = False,
        after: int | None = None,
        id: str | None = None,
    ) -> None:
        """Ask for a subscription; a ``subscribed`` (or ``error``) frame answers it."""
        spec: dict[str, Any] = {"after": after, "id": id}
        if job is not None:
            spec["job"] = job
        if runbook is not None:
            spec["runbook"] = runbook
        if all:
            spec["all"] = True
        await self.ws.send_str(msgspec.json.encode({"subscribe": spec}).decode())

    async def unsubscribe(self, subscription: str) -> None:
        message = {"unsubscribe": {"subscription": subscription}}
        await self.ws.send_str(msgspec.json.encode(message).decode())

    async def receive(self) -> LiveFrame:
        """The next frame; LiveClosed once the connection is closed."""
        msg = await self.ws.receive()
        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            return _decoder.decode(msg.data)
        raise LiveClosed(f"the live feed closed ({msg.type.name.lower()})")

    def __aiter__(self) -> AsyncIterator[LiveFrame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[LiveFrame]:
        while True:
            try:
                yield await self.receive()
            except LiveClosed:
                return

    async def close(self) -> None:
        await self.ws.close()


@asynccontextmanager
async def connect(client: Client, *, heartbeat: float = 30.0) -> AsyncIterator[LiveConnection]:
    """A websocket to the gateway ``client`` talks to (same credentials)."""
    ws = await client.ws_connect("/live", heartbeat=heartbeat)
    try:
        yield LiveConnection(ws)
    finally:
        await ws.close()


async def follow(
    client: Client,
    *,
    job: str | None = None,
    runbook: str | None = None,
    all: bool = False,
    after: int | None = None,
    retry_seconds: float = 0.5,
    reconnect: bool = True,
) -> AsyncIterator[LiveEvent]:
    """Every event of one subscription in order, resuming after drops and lags.

    ``after``: replay from there first (0: everything kept); None: from now.
    API errors (no such job, not allowed) are raised; a lost connection is
    retried with back-off while ``reconnect``.
    """
    from orch.client import ApiError, Unreachable

    last = after
    delay = retry_seconds
    while True:
        try:
            async with connect(client) as conn:
                await conn.subscribe(job=job, runbook=runbook, all=all, after=last)
                async for frame in conn:
                    delay = retry_seconds
                    match frame:
                        case EventsFrame(events=events):
                            for event in events:
                                if last is None or event.seq > last:
                                    last = event.seq
                                    yield event
                        case SubscribedFrame(last_seq=head):
                            if last is None:
                                last = head
                        case LaggedFrame(last_seq=resume):
                            last = resume if last is None else max(last, resume)
                            await conn.subscribe(job=job, runbook=runbook, all=all, after=last)
                        case ErrorFrame(error=error):
                            status = 404 if error.code == "not-found" else (
                                403 if error.code == "forbidden" else 422)
                            raise ApiError(status, error.code, error.message, path=error.path)
                        case _:
                            pass
        except (aiohttp.ClientConnectionError, ConnectionError, Unreachable, TimeoutError):
            if not reconnect:
                raise
        if not reconnect:
            raise LiveClosed("the live feed closed")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
