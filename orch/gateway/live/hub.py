"""Subscriptions and the fan-out of each published batch to them.

The hub indexes subscriptions by what they follow (everything, a job, a
runbook), so a batch costs one dictionary lookup per event and subscription
kind, not a scan of every subscriber. Handing events to a subscription never
waits: it goes to its socket's bounded outbox, or — while the subscription
is still replaying history — to a bounded hold list that follows the replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from orch.gateway.live.events import Batch, FeedEvent, encode

if TYPE_CHECKING:
    from orch.gateway.live.socket import LiveSocket

__all__ = ["Hub", "Subscription", "Visible"]

Visible = Callable[[str | None], bool]
"""Whether events of a runbook (by id) may be shown to the subscriber."""
Follows = Literal["all", "job", "runbook"]


class Subscription:
    __slots__ = ("active", "after", "follows", "hold", "id", "id_json", "key", "last_sent",
                 "ref", "replaying", "socket", "task", "visible")

    def __init__(
        self,
        socket: LiveSocket,
        sid: str,
        follows: Follows,
        key: str | None,
        *,
        after: int | None,
        visible: Visible | None,
    ) -> None:
        self.socket = socket
        self.id = sid
        self.id_json = encode(sid)
        self.follows = follows
        self.key = key
        """The job or runbook id followed (None for ``all``)."""
        self.ref: str | None = None
        """What the client named (a runbook's path, say), for ``unsubscribe``."""
        self.after = after
        """Live events at or below this are not sent (a client ahead of this gateway)."""
        self.visible = visible
        self.last_sent = 0
        """The seq of the last event handed to the socket writer (``lagged`` reports it)."""
        self.replaying = False
        self.hold: list[FeedEvent] = []
        self.active = True
        self.task: object = None

    def matches(self, follows: Follows, key: str | None) -> bool:
        return self.follows == follows and self.key == key

    def offer(self, events: list[FeedEvent]) -> None:
        """Live events for this subscription (already matched by job or runbook)."""
        if not self.active:
            return
        if self.visible is not None:
            events = [e for e in events if self.visible(e.runbook_id)]
        if self.after is not None:
            floor = self.after
            events = [e for e in events if e.seq > floor]
            if events:
                self.after = None  # the live stream is past it now
        if not events:
            return
        if self.replaying:
            if self.hold and len(self.hold) + len(events) > self.socket.queue_limit:
                self.socket.overflow()
            else:
                self.hold.extend(events)
            return
        self.socket.push(self, events)


class Hub:
    def __init__(self) -> None:
        self._all: set[Subscription] = set()
        self._jobs: dict[str, set[Subscription]] = {}
        self._runbooks: dict[str, set[Subscription]] = {}
        self.published = 0

    def __len__(self) -> int:
        return (len(self._all) + sum(map(len, self._jobs.values()))
                + sum(map(len, self._runbooks.values())))  # fmt: skip

    def add(self, sub: Subscription) -> None:
        if sub.follows == "all":
            self._all.add(sub)
        else:
            index = self._jobs if sub.follows == "job" else self._runbooks
            assert sub.key is not None
            index.setdefault(sub.key, set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        sub.active = False
        if sub.follows == "all":
            self._all.discard(sub)
            return
        index = self._jobs if sub.follows == "job" else self._runbooks
        subs = index.get(sub.key or "")
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del index[sub.key or ""]

    def publish(self, events: list[FeedEvent]) -> None:
        """Hand a batch (in seq order) to every subscription it concerns."""
        self.published += len(events)
        events = Batch(events)
        events.published = time.time()
        for sub in list(self._all):
            sub.offer(events)
        if not (self._jobs or self._runbooks):
            return
        buckets: dict[Subscription, list[FeedEvent]] = {}
        for e in events:
            if e.job_id is not None:
                for sub in self._jobs.get(e.job_id, ()):
                    buckets.setdefault(sub, []).append(e)
            if e.runbook_id is not None:
                for sub in self._runbooks.get(e.runbook_id, ()):
                    buckets.setdefault(sub, []).append(e)
        for sub, mine in buckets.items():
            sub.offer(mine)
