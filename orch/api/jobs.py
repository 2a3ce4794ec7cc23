"""Job and instance resources (DESIGN "Resource shapes")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from orch.api.base import Cursor, Id, Limit, Query, Request, Response
from orch.api.failover import Takeover

JobStatus = Literal["queued", "running", "success", "warning", "failed", "stopped"]
InstanceStatus = Literal["running", "success", "warning", "failed", "stopped"]
RunStatus = Literal["running", "success", "warning", "failed", "interrupted", "stopped"]
FINISHED_JOB_STATUSES: frozenset[str] = frozenset({"success", "warning", "failed", "stopped"})


class StartJob(Request, kw_only=True):
    runbook: str
    """The runbook's id or its path (``/Examples/Hello``)."""
    parameters: dict[str, Any] = {}
    """Values for the start activity's parameters; text, numbers or booleans."""
    server: str | None = None
    """Run on this runbook server only; null: any eligible server."""
    priority: int = 0
    """Higher first among the jobs a runbook server may claim (default 0)."""


class Job(Response, kw_only=True):
    id: Id
    runbook_id: Id
    runbook_path: str
    runbook_version: int
    status: JobStatus
    parameters: dict[str, str]
    returned_data: dict[str, str] | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    server: str | None
    """The runbook server that claimed the job."""
    instance_id: Id | None
    """The latest instance."""
    instance_ids: list[Id]
    """Every instance, oldest first."""
    waiting_reason: str | None
    stop_requested_at: datetime | None
    target_server: str | None
    created_by: str | None
    parent_job_id: Id | None
    priority: int = 0
    """Higher first among the jobs a runbook server may claim."""
    retries: int = 0
    """Times it was queued again after a failure (the runbook's ``retry``)."""


class JobList(Response, kw_only=True):
    items: list[Job]
    next: str | None


class ListJobsQuery(Query, kw_only=True):
    runbook: str | None = None
    """A runbook id or path."""
    status: JobStatus | None = None
    server: str | None = None
    """Jobs claimed by this runbook server."""
    since: datetime | None = None
    """Created at or after this time."""
    until: datetime | None = None
    """Created before this time."""
    cursor: Cursor | None = None
    limit: Limit = 100


class RerunQuery(Query, kw_only=True):
    version: Literal["same", "latest"] = "same"
    """``same``: the job's runbook version; ``latest``: the current one."""


class ChildJob(Response, kw_only=True):
    """A job an ``invoke_runbook`` run of the instance started."""

    id: Id
    runbook_id: Id
    runbook_path: str
    status: JobStatus
    created_at: datetime
    ended_at: datetime | None


class ActivityRun(Response, kw_only=True):
    run_id: Id
    activity: str
    status: RunStatus
    published: list[dict[str, str]]
    """One object per item (one for single-valued data)."""
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    parent_run: Id | None
    item: int
    attempt: int
    superseded_at: datetime | None = None
    """Set when a resume of the failed instance ran it (or what it led to) again:
    history, no longer part of the instance's state."""


class Instance(Response, kw_only=True):
    id: Id
    job_id: Id
    status: InstanceStatus
    server: str | None
    """The runbook server running it; null while released for another server to resume."""
    started_at: datetime
    ended_at: datetime | None
    returned_data: dict[str, str] | None
    error: str | None
    activity_runs: list[ActivityRun]
    """Every run, in the order they started."""
    child_jobs: list[ChildJob]
    """Jobs its activities started (``invoke_runbook``), oldest first."""
    takeovers: list[Takeover] = []
    """Each change of owner after it started (failover, hand-over, resume), oldest first."""
    published_data_stored: bool = True
    """False: the runbook's logging level keeps no activity-specific published data once
    the instance has ended (it is there while it runs)."""
    common_data_stored: bool = True
    """False: nor the common fields (``Status``, ``StartTime``…) — only statuses and timings."""
