"""Messages of the live feed (``GET /api/v1/live``, a websocket).

A client sends :class:`ClientMessage` objects — ``{"subscribe": {...}}`` or
``{"unsubscribe": {...}}`` — and receives frames tagged by ``type``:
``subscribed``, ``events`` (one or more :class:`LiveEvent` of one
subscription, in ``seq`` order), ``lagged`` (the client fell behind; resume
with ``after: last_seq``), ``unsubscribed`` and ``error``. Several
subscriptions may share a socket; each delivers every matching event once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from orch.api.base import Id, Request, Response
from orch.api.errors import ErrorDetail

LiveKind = Literal["job", "instance", "activity", "notification"]
"""``notification``: a runbook notification (orch/server/PROPERTIES.md); status is its kind."""
SubscriptionId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
Seq = Annotated[int, msgspec.Meta(ge=0)]


class Subscribe(Request, kw_only=True):
    """Exactly one of ``job``, ``runbook`` or ``all: true``."""

    job: str | None = None
    """A job id: its job, instance and activity events."""
    runbook: str | None = None
    """A runbook id or path: the events of all its jobs."""
    all: bool = False
    """Every event the caller may see."""
    after: Seq | None = None
    """Replay every matching event with a greater ``seq`` first, then go live
    (no gap, no duplicate); without it, only what happens from now on."""
    id: SubscriptionId | None = None
    """The subscription's id in frames (default: one the gateway picks)."""


class Unsubscribe(Request, kw_only=True):
    """``subscription`` (an id), or the same filter as the subscription(s) to end."""

    subscription: str | None = None
    job: str | None = None
    runbook: str | None = None
    all: bool = False


class ClientMessage(Request, kw_only=True):
    subscribe: Subscribe | None = None
    unsubscribe: Unsubscribe | None = None


class LiveEvent(Response, kw_only=True):
    """One state change of a job, an instance or an activity run."""

    seq: int
    """Global, increasing; gaps are normal (rolled-back transactions)."""
    kind: LiveKind
    at: datetime
    runbook_id: Id | None
    job_id: Id | None
    instance_id: Id | None
    activity: str | None
    run_id: Id | None
    status: str | None
    server: str | None
    error: str | None
    """The error summary of a failed run or instance, when there is one."""


class EventsFrame(Response, kw_only=True, tag_field="type", tag="events"):
    subscription: str
    events: list[LiveEvent]


class SubscribedFrame(Response, kw_only=True, tag_field="type", tag="subscribed"):
    subscription: str
    job: Id | None
    runbook: Id | None
    """The runbook's id (also when subscribed by path)."""
    all: bool
    after: int | None
    last_seq: int
    """Events up to here are replayed (from ``after``); live ones follow it."""


class LaggedFrame(Response, kw_only=True, tag_field="type", tag="lagged"):
    """The client read too slowly: the subscription ended; subscribe again with
    ``after: last_seq`` to get everything from there."""

    subscription: str
    last_seq: int


class UnsubscribedFrame(Response, kw_only=True, tag_field="type", tag="unsubscribed"):
    subscription: str


class ErrorFrame(Response, kw_only=True, tag_field="type", tag="error"):
    subscription: str | None
    error: ErrorDetail


LiveFrame = EventsFrame | SubscribedFrame | LaggedFrame | UnsubscribedFrame | ErrorFrame
