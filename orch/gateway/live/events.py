"""Events as the feed carries them: encoded once, routed by runbook and job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from orch.api.live import LiveEvent

FEED_KINDS = frozenset({"job", "instance", "activity", "notification"})
"""Kinds the live feed delivers (server and audit events are only in GET /events)."""

_encoder = msgspec.json.Encoder()


class FeedEvent:
    """One event, its JSON encoded once for every subscriber."""

    __slots__ = ("job_id", "json", "runbook_id", "seq")

    def __init__(self, seq: int, runbook_id: str | None, job_id: str | None, json: bytes) -> None:
        self.seq = seq
        self.runbook_id = runbook_id
        self.job_id = job_id
        self.json = json

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FeedEvent:
        event = LiveEvent(
            seq=row["seq"], kind=row["kind"], at=row["at"], runbook_id=row["runbook_id"],
            job_id=row["job_id"], instance_id=row["instance_id"], activity=row["activity"],
            run_id=row["run_id"], status=row["status"], server=row["server"],
            error=row["error"],
        )  # fmt: skip
        return cls(event.seq, event.runbook_id, event.job_id, _encoder.encode(event))


class Batch(list[FeedEvent]):
    """One published batch. Subscribers that take all of it share it, and its joined
    JSON (``body``) is built once for all of their frames."""

    _body: bytes | None = None

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = b",".join(e.json for e in self)
        return self._body


def events_frame(subscription_json: bytes, events: list[FeedEvent]) -> bytes:
    """``{"type":"events","subscription":…,"events":[…]}`` — as ``EventsFrame`` encodes it."""
    body = events.body if isinstance(events, Batch) else b",".join(e.json for e in events)
    return b"".join((
        b'{"type":"events","subscription":', subscription_json, b',"events":[', body, b"]}",
    ))  # fmt: skip


def encode(value: Any) -> bytes:
    return _encoder.encode(value)
