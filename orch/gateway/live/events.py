"""Events as the feed carries them: encoded once, routed by runbook and job."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from orch.api.live import LiveEvent
from orch.gateway.live.deflate import deflate

FEED_KINDS = frozenset({"job", "instance", "activity", "notification"})
"""Kinds the live feed delivers (server and audit events are only in GET /events)."""

_encoder = msgspec.json.Encoder()


class FeedEvent:
    """One event, its JSON encoded once for every subscriber."""

    __slots__ = ("committed", "from_commit", "job_id", "json", "runbook_id", "seq")

    def __init__(self, seq: int, runbook_id: str | None, job_id: str | None, json: bytes,
                 committed: float = 0.0, from_commit: bool = False) -> None:
        self.seq = seq
        self.runbook_id = runbook_id
        self.job_id = job_id
        self.json = json
        self.committed = committed
        """Seconds since the epoch: its commit (``from_commit``) or when it was read."""
        self.from_commit = from_commit

    @classmethod
    def from_row(cls, row: Mapping[str, Any], read_at: float = 0.0) -> FeedEvent:
        """``read_at``: the time to count its delivery from when the row has no
        ``committed`` column (commit timestamps not tracked, or a replay)."""
        event = LiveEvent(
            seq=row["seq"], kind=row["kind"], at=row["at"], runbook_id=row["runbook_id"],
            job_id=row["job_id"], instance_id=row["instance_id"], activity=row["activity"],
            run_id=row["run_id"], status=row["status"], server=row["server"],
            error=row["error"],
        )  # fmt: skip
        committed = row.get("committed")
        if committed is not None:
            return cls(event.seq, event.runbook_id, event.job_id, _encoder.encode(event),
                       committed, True)
        return cls(event.seq, event.runbook_id, event.job_id, _encoder.encode(event), read_at)


class Batch(list[FeedEvent]):
    """One published batch. Subscribers that take all of it share it, and its joined
    JSON (``body``) is built once for all of their frames."""

    _body: bytes | None = None
    _frames: dict[bytes, bytes] | None = None
    _deflated: dict[tuple[bytes, int], bytes | None] | None = None
    _runs: list[tuple[float, int, bool]] | None = None
    pending = 0
    """Sockets that queued this batch and have not written it yet (``delivery``)."""
    dropped = False
    """A socket dropped it (lagged client): its delivery is not measured."""
    published = 0.0
    """When the hub published it (seconds since the epoch; ``delivery``: fan-out)."""

    @property
    def runs(self) -> list[tuple[float, int, bool]]:
        """Consecutive events of one commit time, once for every socket (``delivery``)."""
        if self._runs is None:
            self._runs = runs(self)
        return self._runs

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = b",".join(e.json for e in self)
        return self._body


def runs(events: Iterable[FeedEvent]) -> list[tuple[float, int, bool]]:
    """``(commit time, events, from commit?)`` for consecutive events of one time."""
    out: list[tuple[float, int, bool]] = []
    last = -1.0
    for e in events:
        if e.committed == last and out:
            t, n, c = out[-1]
            out[-1] = (t, n + 1, c)
        else:
            last = e.committed
            out.append((last, 1, e.from_commit))
    return out


def events_frame(subscription_json: bytes, events: list[FeedEvent]) -> bytes:
    """``{"type":"events","subscription":…,"events":[…]}`` — as ``EventsFrame`` encodes it.

    A whole published batch's frame is built once per subscription id and
    shared by every socket whose subscription has that id (most ``all``
    subscriptions are "1"): one join instead of one per socket.
    """
    if isinstance(events, Batch):
        frames = events._frames
        if frames is None:
            frames = events._frames = {}
        frame = frames.get(subscription_json)
        if frame is None:
            frame = frames[subscription_json] = _frame(subscription_json, events.body)
        return frame
    return _frame(subscription_json, b",".join(e.json for e in events))


def deflated_frame(subscription_json: bytes, batch: Batch, window_bits: int, level: int,
                   min_bytes: int) -> bytes | None:
    """The batch's frame compressed (permessage-deflate, no context takeover), once per
    subscription id and window for every socket; None when it is not worth it (smaller
    than ``min_bytes``, or not smaller compressed): sent as it is."""
    cache = batch._deflated
    if cache is None:
        cache = batch._deflated = {}
    key = (subscription_json, window_bits)
    if key in cache:
        return cache[key]
    frame = events_frame(subscription_json, batch)
    packed: bytes | None = None
    if len(frame) >= min_bytes:
        packed = deflate(frame, window_bits, level)
        if len(packed) >= len(frame):
            packed = None
    cache[key] = packed
    return packed


def _frame(subscription_json: bytes, body: bytes) -> bytes:
    return b"".join((
        b'{"type":"events","subscription":', subscription_json, b',"events":[', body, b"]}",
    ))  # fmt: skip


def encode(value: Any) -> bytes:
    return _encoder.encode(value)
