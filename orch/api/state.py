"""Bodies of the schedules, approvals and webhook routes (issue 8)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from orch.api.base import Cursor, Id, Limit, Query, Request, Response
from orch.sdk.schedule import Schedule


class ScheduleBody(Response, kw_only=True):
    """A named schedule as stored (``PUT`` takes the definition, a ``Schedule``)."""

    name: str
    definition: Schedule
    updated_at: datetime


class Approval(Response, kw_only=True):
    id: Id
    job_id: Id
    instance_id: Id
    runbook_id: Id
    runbook_path: str
    activity: str
    message: str
    status: Literal["pending", "approved", "rejected", "expired"]
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str


class ApprovalList(Response, kw_only=True):
    items: list[Approval]
    next: str | None


class ListApprovalsQuery(Query, kw_only=True):
    status: Literal["pending", "approved", "rejected", "expired"] | None = None
    cursor: Cursor | None = None
    limit: Limit = 100


class Decide(Request, kw_only=True):
    decision: Literal["approve", "reject"]
    comment: str = ""


class HookAccepted(Response, kw_only=True):
    id: Id
    """The request's id (the monitor publishes it as ``RequestId``)."""
    received_at: datetime

