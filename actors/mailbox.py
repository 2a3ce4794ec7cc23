"""Bounded mailboxes: what a smart link delivers into its target activity.

Each activity has one inbox shared by all links into it (a run is started per
delivered trigger, whichever link brought it). The inbox is bounded: when an
activity already runs as many runs as it may at once and its inbox is full,
the upstream run delivering to it waits — backpressure instead of an
unbounded buffer. ``close`` (a stop) wakes every waiting producer with
:class:`MailboxClosed` and refuses further deliveries.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class MailboxClosed(Exception):
    """The mailbox was closed (the instance is stopping)."""


class Mailbox(Generic[T]):
    __slots__ = ("_closed", "_items", "_waiters", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a mailbox holds at least one message")
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def try_put(self, item: T) -> bool:
        """Append unless full; raises MailboxClosed once closed."""
        if self._closed:
            raise MailboxClosed()
        if len(self._items) >= self.capacity:
            return False
        self._items.append(item)
        return True

    async def put(self, item: T) -> None:
        """Append, waiting while the mailbox is full."""
        while not self.try_put(item):
            await self.space()

    async def space(self) -> None:
        """Wait until a message is taken (or the mailbox closes)."""
        if self._closed:
            raise MailboxClosed()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._wake_one()  # pass on the wake-up this waiter can no longer use
            else:
                fut.cancel()
            raise
        if self._closed:
            raise MailboxClosed()

    def pop(self) -> T | None:
        """Take the oldest message (None when empty) and wake one waiting producer."""
        if not self._items:
            return None
        item = self._items.popleft()
        self._wake_one()
        return item

    def _wake_one(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def close(self) -> list[T]:
        """Refuse further messages, wake every waiting producer; return what was queued."""
        self._closed = True
        dropped = list(self._items)
        self._items.clear()
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
        return dropped
