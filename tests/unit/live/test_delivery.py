"""The live feed's delivery measure: a batch counts once, when every socket has written it."""

from __future__ import annotations

from orch.gateway.live import delivery
from orch.gateway.live.events import Batch, FeedEvent, runs


def counts(label: str) -> float:
    """Observations so far in the ``orch_live_delivery_seconds{from=label}`` series."""
    return sum(delivery.DELIVERY_SECONDS.series(label)[:-1])


def event(seq: int, committed: float, from_commit: bool = True) -> FeedEvent:
    return FeedEvent(seq, None, None, b"{}", committed, from_commit)


def test_runs_group_consecutive_events_of_one_commit() -> None:
    events = [event(1, 10.0), event(2, 10.0), event(3, 11.0), event(4, 10.0)]
    assert runs(events) == [(10.0, 2, True), (11.0, 1, True), (10.0, 1, True)]
    assert runs([]) == []


def test_a_batch_is_observed_once_when_the_last_socket_wrote_it() -> None:
    batch = Batch([event(1, 100.0), event(2, 100.0), event(3, 100.5)])
    before = counts("commit")
    delivery.queued(batch)
    delivery.queued(batch)  # two sockets
    delivery.written([batch], now=100.6)
    assert counts("commit") == before  # one socket still has it queued
    total = delivery.DELIVERY_SECONDS.series("commit")[-1]
    delivery.written([batch], now=100.7)
    assert counts("commit") == before + 3  # one observation per event, not per socket
    # delays from the last write: 0.7, 0.7, 0.2
    assert abs(delivery.DELIVERY_SECONDS.series("commit")[-1] - total - 1.6) < 1e-9


def test_a_batch_dropped_for_a_lagging_socket_is_not_observed() -> None:
    batch = Batch([event(1, 50.0), event(2, 50.0)])
    before, lost = counts("commit"), delivery.DROPPED_EVENTS._value.get()
    delivery.queued(batch)
    delivery.queued(batch)
    delivery.dropped([batch])
    delivery.written([batch], now=51.0)
    assert counts("commit") == before
    assert delivery.DROPPED_EVENTS._value.get() == lost + 2


def test_own_lists_are_observed_per_socket_and_replays_not_at_all() -> None:
    before_read, before_commit = counts("read"), counts("commit")
    delivery.written([[event(1, 10.0, from_commit=False), event(2, 10.0, from_commit=False)]],
                     now=10.01)
    assert counts("read") == before_read + 2
    delivery.written([[event(3, 0.0), event(4, 0.0)]], now=10.02)  # replayed history
    assert counts("read") == before_read + 2 and counts("commit") == before_commit


def test_the_gateways_own_part_counts_from_the_batchs_publication() -> None:
    batch = Batch([event(1, 100.0), event(2, 100.0), event(3, 100.0)])
    batch.published = 100.5
    fanout = delivery.FANOUT_SECONDS.series("publish")
    before, total = sum(fanout[:-1]), fanout[-1]
    delivery.queued(batch)
    delivery.queued(batch)
    delivery.written([batch], now=100.6)
    assert sum(fanout[:-1]) == before  # one socket still has it queued
    delivery.written([batch], now=100.7)
    assert sum(fanout[:-1]) == before + 3  # per event, when the last socket wrote it
    assert abs(fanout[-1] - total - 3 * 0.2) < 1e-9
