"""The gateway's request and response bodies (msgspec Structs) and its OpenAPI document.

The gateway decodes and encodes with these types, the client decodes with
them, and ``openapi.build`` describes them: one source for all three.
"""

from __future__ import annotations

from orch.api.base import Request, Response, encode
from orch.api.errors import ErrorBody, ErrorDetail, Fault
from orch.api.health import Health, Readiness
from orch.api.jobs import (
    FINISHED_JOB_STATUSES,
    ActivityRun,
    Instance,
    InstanceStatus,
    Job,
    JobList,
    JobStatus,
    ListJobsQuery,
    RunStatus,
    StartJob,
)
from orch.api.openapi import Operation, build
from orch.api.runbooks import (
    CheckInQuery,
    CheckInResult,
    ListRunbooksQuery,
    RunbookDetail,
    RunbookList,
    RunbookSummary,
    RunbookVersion,
    VersionSummary,
)

__all__ = [
    "FINISHED_JOB_STATUSES",
    "ActivityRun",
    "CheckInQuery",
    "CheckInResult",
    "ErrorBody",
    "ErrorDetail",
    "Fault",
    "Health",
    "Instance",
    "InstanceStatus",
    "Job",
    "JobList",
    "JobStatus",
    "ListJobsQuery",
    "ListRunbooksQuery",
    "Operation",
    "Readiness",
    "Request",
    "Response",
    "RunStatus",
    "RunbookDetail",
    "RunbookList",
    "RunbookSummary",
    "RunbookVersion",
    "StartJob",
    "VersionSummary",
    "build",
    "encode",
]
