"""``GET /api/v1/live``: the websocket handler and the feed's life within the app.

:func:`install_live` adds the feed to an app: the reader runs for the app's
lifetime (``cleanup_ctx``); every socket is closed on shutdown. If the reader
ever fails (a bug), every subscription ends with ``lagged`` — so clients
resume from where they were — and it starts over.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
from aiohttp import WSCloseCode, WSMsgType, hdrs, web

from orch.gateway.background import background
from orch.gateway.errors import BadRequest, Invalid
from orch.gateway.keys import POOL
from orch.gateway.live.deflate import negotiate, sender_for
from orch.gateway.live.hub import Hub
from orch.gateway.live.reader import EventReader, ReaderOptions
from orch.gateway.live.socket import LiveSocket
from orch.logging import get_logger

__all__ = ["LIVE", "LiveFeed", "LiveOptions", "install_live", "live"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LiveOptions:
    heartbeat: float = 20.0
    """Seconds between pings; a socket that does not answer is closed."""
    queue_events: int = 20_000
    """Most events queued for one socket before it gets ``lagged``."""
    frame_events: int = 2_000
    """Most events merged into one frame."""
    max_subscriptions: int = 64
    """Per socket."""
    max_message_bytes: int = 64 * 1024
    """Largest message a client may send."""
    deflate: bool = True
    """Accept permessage-deflate offers (each shared frame compressed once)."""
    deflate_level: int = 1
    """zlib level of that compression (1: ~4x on events, ~150 MB/s)."""
    deflate_min_bytes: int = 200
    """Frames smaller than this go uncompressed."""
    reader: ReaderOptions = field(default_factory=ReaderOptions)


class LiveFeed:
    """One per app: the event reader, the hub and the open sockets."""

    def __init__(self, pool: asyncpg.Pool, options: LiveOptions | None = None) -> None:
        self.options = options or LiveOptions()
        self.hub = Hub()
        self.reader = EventReader(pool, self.hub.publish, self.options.reader)
        self.sockets: set[LiveSocket] = set()
        self.frames_sent = 0
        self.events_sent = 0
        self.lagged = 0

    def configure(self, options: LiveOptions) -> None:
        """Replace the options (before the app starts)."""
        self.options = options
        self.reader.options = options.reader

    async def run(self) -> None:
        """Run the reader until cancelled; restart it (and lag every subscriber) if it fails."""
        while True:
            try:
                await self.reader.run()
            except Exception:
                log.exception("live feed reader failed; restarting it")
                self.reader.tracker = None
                self.reader.started.clear()
                self.reader.ready.clear()
                for socket in list(self.sockets):
                    socket.lag_all()
                await asyncio.sleep(1.0)

    async def close_sockets(self) -> None:
        sockets = list(self.sockets)
        for socket in sockets:
            socket.close()
        await asyncio.gather(
            *(s.ws.close(code=WSCloseCode.GOING_AWAY, message=b"gateway shutting down")
              for s in sockets),
            return_exceptions=True,
        )


LIVE = web.AppKey("live", LiveFeed)


async def live(request: web.Request) -> web.StreamResponse:
    """The websocket: prepare, register, read messages, unregister."""
    feed = request.app[LIVE]
    opts = feed.options
    accepted = (negotiate(request.headers.getall(hdrs.SEC_WEBSOCKET_EXTENSIONS, ()))
                if opts.deflate else None)
    ws = web.WebSocketResponse(heartbeat=opts.heartbeat, compress=accepted is not None,
                               max_msg_size=opts.max_message_bytes)
    if not ws.can_prepare(request).ok:
        raise BadRequest("this is a websocket: send an Upgrade request",
                         code="websocket-expected")
    handshake = request
    if accepted is not None:  # aiohttp answers the canonical offer: no server takeover
        headers = request.headers.copy()
        headers.popall(hdrs.SEC_WEBSOCKET_EXTENSIONS)
        headers[hdrs.SEC_WEBSOCKET_EXTENSIONS] = accepted.offer
        handshake = request.clone(headers=headers)
    writer = await ws.prepare(handshake)
    socket = LiveSocket(ws, request, feed)
    socket.sender = sender_for(ws, request, writer, accepted)
    feed.sockets.add(socket)
    try:
        async with asyncio.TaskGroup() as tg:
            socket.tg = tg
            tg.create_task(socket.write_loop(), name=f"live:{socket.id}:writer")
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await socket.handle(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    socket.error(Invalid("send JSON text messages", path="$",
                                         code="invalid-message"))
            socket.close()
    except Exception:
        log.exception("live socket failed", socket=socket.id)
    finally:
        socket.close()
        feed.sockets.discard(socket)
        if not ws.closed:
            await ws.close(code=WSCloseCode.INTERNAL_ERROR)
    return ws


async def _on_shutdown(app: web.Application) -> None:
    await app[LIVE].close_sockets()


def install_live(app: web.Application, options: LiveOptions | None = None) -> LiveFeed:
    """Give ``app`` its live feed (the route itself is in the route table)."""
    feed = LiveFeed(app[POOL], options)
    app[LIVE] = feed
    app.cleanup_ctx.append(background("live:reader", lambda app: app[LIVE].run()))
    app.on_shutdown.append(_on_shutdown)
    return feed
