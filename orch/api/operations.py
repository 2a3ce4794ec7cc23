"""Operations data: runbook servers, integration packs, and the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from orch.api.base import Cursor, Id, Limit, Query, Response

ServerStatus = Literal["up", "draining", "maintenance", "down", "stopped"]
EventKind = Literal["job", "instance", "activity", "notification", "runbook", "server", "audit"]
"""The kinds of events written today (the filter accepts these)."""


class Server(Response, kw_only=True):
    name: str
    status: ServerStatus
    host: str
    pid: int | None
    capacity: int
    """Most instances it runs at once."""
    running: int
    """Instances it runs now."""
    packs: list[str]
    """Integration packs it reported when it started."""
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_seconds: float
    available: bool
    """Up, heartbeat fresh and below capacity: it claims jobs now."""
    accepts_pushes: bool = False
    """Its heartbeat says it takes the jobs their start hands to an idle server (no
    claim: orch/server/README.md "Pushed jobs"); false when it does not, or is not
    listening, draining, in maintenance, or silent."""


class ServerList(Response, kw_only=True):
    items: list[Server]
    next: str | None


class ListServersQuery(Query, kw_only=True):
    cursor: Cursor | None = None
    limit: Limit = 100


class ActivityInfo(Response, kw_only=True):
    name: str
    qualified_name: str
    display_name: str
    category: str
    description: str
    rerunnable: bool
    monitor: bool


class IntegrationPack(Response, kw_only=True):
    name: str
    version: str | None
    """The distribution's version where the gateway has the pack installed."""
    installed_on_gateway: bool
    activities: list[ActivityInfo]
    """As the gateway's installation declares them (empty when it lacks the pack)."""
    servers: list[str]
    """Runbook servers reporting the pack."""


class PackList(Response, kw_only=True):
    items: list[IntegrationPack]
    next: str | None


class ListPacksQuery(Query, kw_only=True):
    cursor: Cursor | None = None
    limit: Limit = 100


class EventRecord(Response, kw_only=True):
    """One entry of the event log: a state change, a server event, or an audit entry."""

    seq: int
    """The live feed's sequence for events; the audit log's own number for ``audit``."""
    kind: str
    """One of ``EventKind`` today; a newer writer may add kinds, so clients should
    show what they do not know rather than fail on it."""
    at: datetime
    runbook_id: Id | None
    job_id: Id | None
    instance_id: Id | None
    activity: str | None
    run_id: Id | None
    status: str | None
    server: str | None
    data: dict[str, Any] | None
    actor: str | None
    """Audit entries: who acted."""
    action: str | None
    """Audit entries: what was done."""
    target: str | None
    """Audit entries: on what."""


class EventList(Response, kw_only=True):
    items: list[EventRecord]
    """Newest first."""
    next: str | None


class ListEventsQuery(Query, kw_only=True):
    kind: EventKind | None = None
    """``audit`` reads the audit log; the other kinds (and none) the events."""
    runbook: str | None = None
    """A runbook id or path."""
    job: Id | None = None
    instance: Id | None = None
    server: str | None = None
    since: datetime | None = None
    """At or after this time."""
    until: datetime | None = None
    """Before this time."""
    cursor: Cursor | None = None
    limit: Limit = 100
