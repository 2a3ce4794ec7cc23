"""The one event reader of a gateway process: LISTEN ``orch_events``, read in batches.

A notification only wakes the reader; it then reads the events after the
highest seq it has read, plus any seqs still missing below it, together with
the transactions that may still insert some (see :mod:`tracker`), and hands
what may go out — in seq order, nothing skipped — to the hub. It polls again
soon while seqs are missing (a rolled-back insert sends no notification), at
once when a poll was full, every ``hot_poll`` seconds for ``hot_for`` seconds
after a poll read something new (a runbook server's group commit that follows
a notifying one closely sends no notification: orch/db/feed_wake.py), and
every ``idle_poll`` seconds regardless.

One session does both the LISTEN and the reads, re-established with back-off
when lost; the tracker's state outlives it, so a reconnect loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from orch.db.feed_wake import HOT_POLL_SECONDS, HOT_SECONDS
from orch.db.lost import RETRYABLE as DB_RETRYABLE
from orch.gateway.live.events import FEED_KINDS, FeedEvent
from orch.gateway.live.tracker import SeqTracker
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["EventReader", "ReaderOptions"]

log = get_logger(__name__)

CHANNEL = "orch_events"
RETRYABLE = (*DB_RETRYABLE, asyncpg.PostgresError)
"""What ends a session, to be read again on a new one: a lost database as every
component sees it (``orch.db.lost``, which includes asyncpg's protocol state left
inconsistent by a connection lost mid-query), and any error PostgreSQL returned."""


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    batch: int = 1000
    """Most new events read by one poll. Smaller reads overlap better with the
    socket writes of the batch before (the loop writes while the next read is
    in the database): 100 clients under 1,000 chain10s, delivery p99 in 7
    interleaved runs each, 2,000 → 127–197 ms (1 of 7 within 100 ms), 1,000 →
    68–146 ms (5 of 7); 500 was no better than 1,000 (bench/RESULTS.md)."""
    buffer_max: int = 50_000
    """Most events held back behind a missing seq (then reading pauses)."""
    gap_poll: float = 0.005
    """First re-poll delay while seqs are missing; doubles up to ``gap_poll_max``."""
    gap_poll_max: float = 0.1
    hot_poll: float = HOT_POLL_SECONDS
    """Poll interval for ``hot_for`` seconds after a poll read something new."""
    hot_for: float = HOT_SECONDS
    """Longer than a group commit writer stays quiet after notifying (feed_wake.py)."""
    idle_poll: float = 1.0


class EventReader:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Callable[[list[FeedEvent]], None],
        options: ReaderOptions | None = None,
    ) -> None:
        self.pool = pool
        self.publish = publish
        self.options = options or ReaderOptions()
        self.tracker: SeqTracker[FeedEvent | None] | None = None
        self.started = asyncio.Event()
        """Set once the starting point is known (subscriptions wait for it)."""
        self.ready = asyncio.Event()
        """Set once replays may read below the starting point."""
        self._wake = asyncio.Event()
        self._hot_until = 0.0
        """Poll every ``hot_poll`` seconds until then (``time.monotonic()``)."""
        self._committed = False
        """The session reads commit timestamps (``track_commit_timestamp`` is on)."""
        self.polls = 0

    @property
    def last(self) -> int:
        """The feed's position: every event up to here has been published."""
        assert self.tracker is not None
        return self.tracker.last

    async def run(self) -> None:
        """Read until cancelled, reconnecting with back-off."""
        delay = 0.05
        while True:
            try:
                await self._session()
            except RETRYABLE as exc:
                log.warning("live feed: database connection failed", error=str(exc),
                            retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                delay = 0.05

    async def _session(self) -> None:
        lost = asyncio.Event()
        conn: asyncpg.Connection = await self.pool.acquire()
        try:
            conn.add_termination_listener(lambda _c: (lost.set(), self._wake.set()))
            await conn.add_listener(CHANNEL, self._notified)
            # each event's delivery is measured from its commit when PostgreSQL
            # tracks commit times, else from its read (delivery.py)
            self._committed = bool(await conn.fetchval(Q.live_commit_tracking))
            if self.tracker is None:
                row = await conn.fetchrow(Q.api_live_start)
                self.tracker = SeqTracker(row["seq"], row["holders"],
                                          buffer_max=self.options.buffer_max)
                self.started.set()
            await self._loop(conn, lost)
        finally:
            # Nothing here may raise: an error would replace a CancelledError in
            # flight, run() would take it for a lost connection and go on, and
            # the app's cleanup would wait for this task forever. (After a
            # database restart asyncpg may already have taken the connection
            # back: even is_closed() raises then.)
            with contextlib.suppress(*RETRYABLE):
                if not conn.is_closed():
                    await conn.remove_listener(CHANNEL, self._notified)
            with contextlib.suppress(*RETRYABLE):
                await self.pool.release(conn)

    def _notified(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self._wake.set()

    async def _loop(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        tracker = self.tracker
        assert tracker is not None
        opts = self.options
        backoff = opts.gap_poll
        full = True  # read at once after (re)connecting
        while not lost.is_set():
            if full or tracker.settling:
                timeout = 0.0
            elif tracker.waiting:
                timeout = backoff
                backoff = min(backoff * 2, opts.gap_poll_max)
            else:
                hot = self._hot_until - time.monotonic()
                timeout = opts.idle_poll if hot <= 0 else min(opts.hot_poll, hot)
                backoff = opts.gap_poll
            if timeout > 0 and not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
            self._wake.clear()  # before reading: a commit during the read wakes us again
            if lost.is_set() or _closed(conn):
                return  # the session died while we waited: read on a new one, never this one
            full = await self._poll(conn, tracker)

    async def _poll(self, conn: asyncpg.Connection, tracker: SeqTracker[FeedEvent | None]) -> bool:
        """One read; True when it read as many new events as it could (read again)."""
        lows, highs = tracker.missing()
        room = min(self.options.batch, tracker.room())
        rows = await conn.fetch(Q.api_live_poll_committed if self._committed
                                else Q.api_live_poll, tracker.hi, lows, highs, room)
        read_at = time.time()
        self.polls += 1
        holders = rows[0]["holders"] if rows else []
        fresh = 0
        items: list[tuple[int, FeedEvent | None]] = []
        for row in rows:
            seq = row["seq"]
            if seq is None:
                continue
            if seq > tracker.hi:
                fresh += 1
            items.append((seq, FeedEvent.from_row(row, read_at) if row["kind"] in FEED_KINDS
                          else None))
        if fresh:
            self._hot_until = time.monotonic() + self.options.hot_for
        out = tracker.advance(holders, items)
        if tracker.ready and not self.ready.is_set():
            self.ready.set()
        events = [e for e in out if e is not None]
        if events:
            self.publish(events)
        return room > 0 and fresh >= room


def _closed(conn: asyncpg.Connection) -> bool:
    """Closed, or taken back by the pool (a dead session: even ``is_closed()`` raises)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True
