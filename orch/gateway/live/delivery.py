"""How long an event takes from its commit to being written to every socket.

Measured by the gateway itself, so no client's speed enters it: each event
carries its commit time (``pg_xact_commit_timestamp`` when PostgreSQL tracks
commit timestamps, else the moment the reader read it — the histogram's
``from`` label says which), and a published batch counts the sockets it was
queued for. When the last of them has written the frame carrying it, the
batch's events are observed at once: delay = now − commit, one observation
per event (events of one transaction share a commit time, so a batch is a
few runs of equal times, not a loop over every event and socket). Events
that reach a subscription in a list of their own (a filtered or a job /
runbook subscription) are observed per socket when written. Events dropped
for a lagging client are not observed (``orch_live_dropped_events_total``).

``orch_live_delivery_seconds{from}`` on the gateway's ``/metrics``;
``bench/live.py`` reads its p50 / p99 from there. Its gateway-side part,
from a shared batch's publication (read and in order) to the same last
write, is ``orch_live_fanout_seconds{from="publish"}``, per event too: the
rest of the delay is the commit → read side (notification, poll, order).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import Counter

from orch.gateway.live.events import Batch, FeedEvent, runs
from orch.metrics.registry import LoopHistogram

__all__ = ["DELIVERY_SECONDS", "DROPPED_EVENTS", "FANOUT_SECONDS", "dropped", "queued", "runs",
           "written"]

DELIVERY_SECONDS = LoopHistogram(
    "orch_live_delivery_seconds",
    "Live feed: from an event's commit (or, without track_commit_timestamp, its read) "
    "to its frame written to every socket it was queued for",
    "from",
    (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
     1.0, 2.0, 5.0, 10.0))
FANOUT_SECONDS = LoopHistogram(
    "orch_live_fanout_seconds",
    "Live feed: from a batch's publication (read, in order) to its frame written to every "
    "socket it was queued for — the gateway's own part of orch_live_delivery_seconds",
    "from", DELIVERY_SECONDS.bounds)
DROPPED_EVENTS = Counter("orch_live_dropped_events",
                         "Live feed: events dropped for a client reading too slowly")
_FROM_COMMIT = DELIVERY_SECONDS.series("commit")
_FROM_READ = DELIVERY_SECONDS.series("read")
_FROM_PUBLISH = FANOUT_SECONDS.series("publish")


def queued(events: list[FeedEvent]) -> None:
    """A socket queued ``events`` (the batch waits for one more write)."""
    if isinstance(events, Batch):
        events.pending += 1


def _observe(spans: list[tuple[float, int, bool]], now: float) -> None:
    observe = DELIVERY_SECONDS.observe_many
    for committed, n, from_commit in spans:
        if committed <= 0.0:
            continue  # a replayed event: history, not delivery
        observe(_FROM_COMMIT if from_commit else _FROM_READ, max(0.0, now - committed), n)


def written(pieces: list[list[FeedEvent]], now: float | None = None) -> None:
    """A frame carrying ``pieces`` (as queued) was written to one socket."""
    now = time.time() if now is None else now
    for piece in pieces:
        if isinstance(piece, Batch):
            piece.pending -= 1
            if piece.pending == 0 and not piece.dropped:
                _observe(piece.runs, now)
                if piece.published:
                    FANOUT_SECONDS.observe_many(_FROM_PUBLISH, max(0.0, now - piece.published),
                                                len(piece))
        else:
            _observe(runs(piece), now)


def dropped(pieces: Iterable[list[FeedEvent]]) -> None:
    """Queued pieces a socket will never write (its client lagged or left)."""
    for piece in pieces:
        DROPPED_EVENTS.inc(len(piece))
        if isinstance(piece, Batch):
            piece.pending -= 1
            piece.dropped = True
