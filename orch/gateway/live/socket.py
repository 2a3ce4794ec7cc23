"""One live-feed websocket: its subscriptions, its bounded outbox and its writer.

Everything the socket will send goes through one outbox, in order: control
frames (``subscribed``, ``lagged``, ``error`` …) and batches of events. Live
batches are appended without waiting; when the events queued would pass
``queue_limit`` the client is reading too slowly: its queued events are
dropped and each subscription ends with ``lagged`` and the last seq actually
handed to the writer, from which the client resumes. So a slow client costs
at most ``queue_limit`` events of memory, plus one reader batch (an empty
outbox always takes a batch); the events themselves are shared with every
other socket. Replays wait for room instead: history is read a
page at a time, as fast as the client takes it.

The writer task sends frames one at a time and merges consecutive batches of
one subscription into one frame (up to ``frame_events``), so a client that
falls a little behind catches up with fewer, larger frames. A socket that
negotiated permessage-deflate (``deflate.py``) sends each shared batch's
frame as it is instead, compressed once for every such socket.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec
from aiohttp import WSMsgType, web

from orch.api import ErrorDetail
from orch.api.live import (
    ClientMessage,
    ErrorFrame,
    LaggedFrame,
    Subscribe,
    SubscribedFrame,
    Unsubscribe,
    UnsubscribedFrame,
)
from orch.db.jobs import resolve_runbook
from orch.document.paths import BadPath
from orch.gateway.auth import authorize
from orch.gateway.bodies import decode_json, split_validation_error
from orch.gateway.errors import BodyRefused, HttpError, Invalid, NotFoundError
from orch.gateway.keys import POOL
from orch.gateway.live.access import all_events_filter, current_principal
from orch.gateway.live.deflate import FrameSender
from orch.gateway.live.delivery import dropped, queued, written
from orch.gateway.live.events import (
    FEED_KINDS,
    Batch,
    FeedEvent,
    deflated_frame,
    encode,
    events_frame,
)
from orch.gateway.live.hub import Follows, Subscription
from orch.gateway.live.reader import RETRYABLE
from orch.logging import get_logger
from orch.sql import Q

if TYPE_CHECKING:
    from orch.gateway.live.feed import LiveFeed

__all__ = ["LiveSocket"]

log = get_logger(__name__)

_ids = itertools.count(1)
REPLAY_PAGE = 1000
FEED_KINDS_LIST = sorted(FEED_KINDS)

Item = tuple[Subscription | None, "list[FeedEvent] | bytes"]


class LiveSocket:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, feed: LiveFeed) -> None:
        self.id = next(_ids)
        self.ws = ws
        self.request = request
        self.feed = feed
        opts = feed.options
        self.queue_limit = opts.queue_events
        self.frame_events = opts.frame_events
        self.subs: dict[str, Subscription] = {}
        self.tg: asyncio.TaskGroup | None = None
        self._outbox: deque[Item] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._closing = False
        self._next_sid = itertools.count(1)
        self.frames = 0
        self.events_sent = 0
        self.sender: FrameSender | None = None
        """Set when the socket negotiated permessage-deflate (``deflate.py``)."""

    # -- the outbox ------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Events waiting in the outbox (bounded by ``queue_limit``)."""
        return self._queued

    def push(self, sub: Subscription, events: list[FeedEvent]) -> None:
        """Queue live events without waiting; past the limit the client has lagged."""
        if self._closing:
            return
        if self._queued and self._queued + len(events) > self.queue_limit:
            self.overflow()
            return
        self._outbox.append((sub, events))
        self._queued += len(events)
        queued(events)
        self._wake.set()

    async def push_wait(self, sub: Subscription, events: list[FeedEvent]) -> bool:
        """Queue replayed events once there is room; False when the subscription ended."""
        while sub.active and self._queued and self._queued + len(events) > self.queue_limit:
            self._room.clear()
            await self._room.wait()
        if not sub.active or self._closing:
            return False
        self._outbox.append((sub, events))
        self._queued += len(events)
        self._wake.set()
        return True

    def control(self, frame: bytes) -> None:
        if self._closing:
            return
        self._outbox.append((None, frame))
        self._wake.set()

    def overflow(self) -> None:
        """The client reads too slowly: drop its queued events, end every subscription."""
        dropped(body for sub, body in self._outbox if sub is not None)  # type: ignore[misc]
        self._outbox = deque(item for item in self._outbox if item[0] is None)
        self._queued = 0
        self._room.set()
        self.feed.lagged += 1
        for sub in list(self.subs.values()):
            self._end(sub)
            self.control(encode(LaggedFrame(subscription=sub.id, last_seq=sub.last_sent)))

    def lag_all(self) -> None:
        """The feed restarted: end every subscription, to be resumed from where it was."""
        for sub in list(self.subs.values()):
            self._end(sub)
            self.control(encode(LaggedFrame(subscription=sub.id, last_seq=sub.last_sent)))

    async def write_loop(self) -> None:
        """Send what the outbox holds, in order, until the socket closes."""
        try:
            while True:
                if not self._outbox:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                sub, body = self._outbox.popleft()
                packed: bytes | None = None
                if sub is None:
                    assert isinstance(body, bytes)
                    data = body
                else:
                    assert isinstance(body, list)
                    pieces = [body]
                    events = body
                    self._queued -= len(events)
                    # A compressing socket sends a shared batch as it is: its frame is
                    # compressed once for every socket; merging would make it this one's.
                    shared = self.sender is not None
                    while (self._outbox and self._outbox[0][0] is sub
                           and len(events) < self.frame_events
                           and not (shared and (isinstance(events, Batch)
                                                or isinstance(self._outbox[0][1], Batch)))):
                        more = self._outbox.popleft()[1]
                        assert isinstance(more, list)
                        self._queued -= len(more)
                        pieces.append(more)
                        events = events + more
                    self._room.set()
                    if not sub.active:
                        dropped(pieces)
                        continue
                    sub.last_sent = events[-1].seq
                    data = events_frame(sub.id_json, events)
                    if self.sender is not None and isinstance(events, Batch):
                        opts = self.feed.options
                        packed = deflated_frame(sub.id_json, events, self.sender.window_bits,
                                                opts.deflate_level, opts.deflate_min_bytes)
                    self.events_sent += len(events)
                    self.feed.events_sent += len(events)
                if self.sender is None:
                    await self.ws.send_frame(data, WSMsgType.TEXT)
                elif packed is not None:
                    await self.sender.send(packed, True)
                else:  # frames of this socket alone, and small ones: not compressed
                    await self.sender.send(data, False)
                self.frames += 1
                self.feed.frames_sent += 1
                if sub is not None:
                    written(pieces)
        except ConnectionError:
            return  # the client went away; the handler's read loop ends too

    def close(self) -> None:
        """End every subscription and let the writer stop (queued frames are dropped)."""
        for sub in list(self.subs.values()):
            self._end(sub)
        self._closing = True
        dropped(body for sub, body in self._outbox if sub is not None)  # type: ignore[misc]
        self._outbox.clear()
        self._queued = 0
        self._room.set()
        self._wake.set()

    # -- messages from the client -----------------------------------------------------
    async def handle(self, text: str) -> None:
        try:  # the request bodies' decoder and limits (depth, numbers): an error frame
            message = msgspec.convert(decode_json(text.encode()), ClientMessage)
        except BodyRefused as e:
            log.warning("live message refused", socket=self.id, reason=e.code)
            self.error(e)
            return
        except msgspec.ValidationError as e:
            msg, path = split_validation_error(e)
            self.error(Invalid(msg, path=path, code="invalid-message"))
            return
        if (message.subscribe is None) == (message.unsubscribe is None):
            self.error(Invalid("send either subscribe or unsubscribe", path="$",
                               code="invalid-message"))
            return
        try:
            if message.subscribe is not None:
                await self.subscribe(message.subscribe)
            else:
                assert message.unsubscribe is not None
                self.unsubscribe(message.unsubscribe)
        except HttpError as e:
            sid = message.subscribe.id if message.subscribe is not None else None
            self.error(e, sid)

    def error(self, exc: HttpError, subscription: str | None = None) -> None:
        detail = ErrorDetail(code=exc.code, message=exc.message, path=exc.path, faults=exc.faults)
        self.control(encode(ErrorFrame(subscription=subscription, error=detail)))

    async def subscribe(self, spec: Subscribe) -> None:
        chosen = (spec.job is not None) + (spec.runbook is not None) + spec.all
        if chosen != 1:
            raise Invalid("subscribe to exactly one of job, runbook or all: true",
                          path="$.subscribe", code="invalid-message")
        if spec.id is not None and spec.id in self.subs:
            raise Invalid(f"subscription {spec.id!r} exists on this socket",
                          path="$.subscribe.id", code="invalid-message")
        if len(self.subs) >= self.feed.options.max_subscriptions:
            raise Invalid("too many subscriptions on this socket", path="$.subscribe",
                          code="too-many-subscriptions")
        follows: Follows
        key: str | None = None
        visible = None
        pool = self.request.app[POOL]
        await current_principal(self.request)  # a directory user: its groups as of now
        if spec.job is not None:
            follows = "job"
            try:
                job_id = UUID(spec.job)
            except ValueError:
                raise NotFoundError(f"no job {spec.job}", path="$.subscribe.job") from None
            row = await pool.fetchrow(Q.api_live_job_runbook, job_id)
            if row is None:
                raise NotFoundError(f"no job {spec.job}", path="$.subscribe.job")
            authorize(self.request, "view", row["path"])
            key = str(job_id)
        elif spec.runbook is not None:
            follows = "runbook"
            try:
                async with pool.acquire() as conn:
                    runbook = await resolve_runbook(conn, spec.runbook)
            except BadPath as e:
                raise Invalid(e.message, path="$.subscribe.runbook", code="bad-path") from None
            if runbook is None:
                raise NotFoundError(f"no runbook {spec.runbook}", path="$.subscribe.runbook")
            authorize(self.request, "view", runbook.path)
            key = runbook.id
        else:
            follows = "all"
            visible = await all_events_filter(self.request)
        reader = self.feed.reader
        # Until ``ready``, seqs below the reader's start may still commit: a position
        # handed out then would not mean "everything up to here is settled".
        await reader.ready.wait()
        if self._closing:
            return
        # No await from here until the subscription is registered: ``upto`` is
        # exactly where the live stream takes over from the replay.
        upto = reader.last
        sid = spec.id if spec.id is not None else self._fresh_id()
        if sid in self.subs:
            raise Invalid(f"subscription {sid!r} exists on this socket",
                          path="$.subscribe.id", code="invalid-message")
        after = spec.after
        sub = Subscription(self, sid, follows, key, after=None, visible=visible)
        sub.ref = spec.job or spec.runbook
        self.subs[sid] = sub
        self.control(encode(SubscribedFrame(
            subscription=sid, job=key if follows == "job" else None,
            runbook=key if follows == "runbook" else None, all=follows == "all",
            after=after, last_seq=upto,
        )))  # fmt: skip
        if after is None or after >= upto:
            sub.after = after if after is not None and after > upto else None
            sub.last_sent = upto if after is None else after
            self.feed.hub.add(sub)
            return
        sub.replaying = True
        sub.last_sent = after
        self.feed.hub.add(sub)
        assert self.tg is not None
        sub.task = self.tg.create_task(self._replay(sub, after, upto),
                                       name=f"live:{self.id}:replay:{sid}")

    def _fresh_id(self) -> str:
        while True:
            sid = str(next(self._next_sid))
            if sid not in self.subs:
                return sid

    async def _replay(self, sub: Subscription, after: int, upto: int) -> None:
        """History (after, upto] a page at a time, then the live events held meanwhile."""
        job = UUID(sub.key) if sub.follows == "job" and sub.key else None
        runbook = UUID(sub.key) if sub.follows == "runbook" and sub.key else None
        page = max(1, min(REPLAY_PAGE, self.queue_limit))
        pool = self.request.app[POOL]
        cursor = after
        try:
            while cursor < upto and sub.active:
                rows = await pool.fetch(Q.api_live_replay, cursor, upto, job, runbook, page,
                                        FEED_KINDS_LIST)
                if not rows:
                    break
                cursor = rows[-1]["seq"]
                events = [FeedEvent.from_row(r) for r in rows]
                if sub.visible is not None:
                    events = [e for e in events if sub.visible(e.runbook_id)]
                if events and not await self.push_wait(sub, events):
                    return
        except RETRYABLE as exc:
            log.warning("live feed: replay failed", error=str(exc), subscription=sub.id)
            if sub.active:
                self._end(sub)
                self.control(encode(LaggedFrame(subscription=sub.id, last_seq=sub.last_sent)))
            return
        if not sub.active:
            return
        sub.replaying = False
        held, sub.hold = sub.hold, []
        if held:
            self.push(sub, held)

    def unsubscribe(self, spec: Unsubscribe) -> None:
        if spec.subscription is not None:
            sub = self.subs.get(spec.subscription)
            if sub is None:
                raise NotFoundError(f"no subscription {spec.subscription!r} on this socket",
                                    path="$.unsubscribe.subscription")
            ended = [sub]
        else:
            chosen = (spec.job is not None) + (spec.runbook is not None) + spec.all
            if chosen != 1:
                raise Invalid("unsubscribe names a subscription, or exactly one of job, "
                              "runbook or all: true", path="$.unsubscribe",
                              code="invalid-message")
            follows = "job" if spec.job is not None else "runbook" if spec.runbook else "all"
            ref = spec.job or spec.runbook
            ended = [s for s in self.subs.values()
                     if s.follows == follows and (follows == "all" or s.key == ref
                                                  or s.ref == ref)]
            if not ended:
                raise NotFoundError("no such subscription on this socket", path="$.unsubscribe")
        for sub in ended:
            self._end(sub)
            self.control(encode(UnsubscribedFrame(subscription=sub.id)))

    def _end(self, sub: Subscription) -> None:
        self.feed.hub.remove(sub)
        self.subs.pop(sub.id, None)
        sub.hold.clear()
        task = sub.task
        if isinstance(task, asyncio.Task) and task is not asyncio.current_task():
            task.cancel()
        self._room.set()
