"""What the Runbook Tester reports, one Struct per kind of event.

The terminal renderer writes them as text; ``--json`` writes each as one line
(``{"event": "activity-ended", ...}``) so scripts and CI can follow a test.
Item indexes are 0-based, as the API's ``item``; the text numbers them from 1.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Item = dict[str, str]


class Event(msgspec.Struct, kw_only=True, tag_field="event"):
    """Base of every tester event."""


class Started(Event, kw_only=True, tag="started"):
    runbook: str
    """The runbook's path (``/Folder/Name``)."""
    source: str
    """Where the document came from: a file name or ``gateway``."""
    parameters: dict[str, str]
    case: str | None = None


class ActivityStarted(Event, kw_only=True, tag="activity-started"):
    runbook: str
    depth: int
    """0 for the runbook under test, 1 for a child it invokes, and so on."""
    activity: str
    name: str
    run_id: str
    item: int
    """The index of the upstream item this run is bound to."""
    attempt: int
    parent_activity: str | None
    parent_items: int = 0
    """How many items the upstream run published (>1: this run is one of a fan-out)."""


class ActivityEnded(Event, kw_only=True, tag="activity-ended"):
    runbook: str
    depth: int
    activity: str
    name: str
    run_id: str
    status: str
    duration_ms: float
    published: list[Item]
    """One object per item, common fields included; empty: the path below is dead."""
    error: str | None
    returned_data: dict[str, str] | None = None
    """Runbook returned data this run set (``return_data``)."""


class LinkEvaluated(Event, kw_only=True, tag="link"):
    runbook: str
    depth: int
    source: str
    target: str
    link_name: str | None
    run_id: str
    item: int
    """Which published item of the source run the link was evaluated for."""
    followed: bool
    reason: str


class LoopEvaluated(Event, kw_only=True, tag="loop"):
    runbook: str
    depth: int
    activity: str
    run_id: str
    attempt: int
    again: bool
    """True: another attempt follows; False: this attempt's data follows the links."""
    reason: str


class Paused(Event, kw_only=True, tag="paused"):
    runbook: str
    depth: int
    activity: str
    name: str
    run_id: str
    why: Literal["step", "break"]


class Skipped(Event, kw_only=True, tag="skipped"):
    runbook: str
    depth: int
    activity: str
    run_id: str


class Data(Event, kw_only=True, tag="data"):
    """Answer to "show data" at a pause: what each finished activity published so far."""

    runbook: str
    depth: int
    parameters: dict[str, str]
    activities: dict[str, list[Item]]
    """Activity id → the items of its latest finished run."""


class ChildStarted(Event, kw_only=True, tag="child-started"):
    runbook: str
    depth: int
    job_id: str
    source: str
    parameters: dict[str, str]


class ChildEnded(Event, kw_only=True, tag="child-ended"):
    runbook: str
    depth: int
    job_id: str
    status: str
    returned_data: dict[str, str]
    error: str | None


class Finished(Event, kw_only=True, tag="finished"):
    runbook: str
    status: str
    returned_data: dict[str, str]
    error: str | None
    duration_ms: float
    runs: int
    exit_code: int
    case: str | None = None
    skipped: list[str] = []
    """Activities skipped at a pause (step mode), in the runbook under test."""


class CaseResult(Event, kw_only=True, tag="case"):
    name: str
    passed: bool
    status: str
    returned_data: dict[str, str]
    failures: list[str]
    """One sentence per expectation that did not hold."""


class CasesSummary(Event, kw_only=True, tag="summary"):
    total: int
    passed: int
    failed: int
    exit_code: int


class FaultInfo(msgspec.Struct, kw_only=True):
    path: str
    message: str
    code: str


class Invalid(Event, kw_only=True, tag="invalid"):
    """The document (or the parameters given) cannot be run."""

    source: str
    faults: list[FaultInfo]
    exit_code: int = 1


AnyEvent = (
    Started
    | ActivityStarted
    | ActivityEnded
    | LinkEvaluated
    | LoopEvaluated
    | Paused
    | Skipped
    | Data
    | ChildStarted
    | ChildEnded
    | Finished
    | CaseResult
    | CasesSummary
    | Invalid
)
