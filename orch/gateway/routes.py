"""The gateway's one route table: each API operation paired with its handler.

The OpenAPI document is built from the same table, so every route is
described, with the Structs its handler decodes and encodes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from orch.api import (
    CheckInQuery,
    CheckInResult,
    Health,
    Instance,
    Job,
    JobList,
    ListJobsQuery,
    ListRunbooksQuery,
    Operation,
    Readiness,
    RunbookDetail,
    RunbookList,
    RunbookVersion,
    StartJob,
)
from orch.document.model import Runbook as RunbookDocument
from orch.gateway import jobs, meta, routes_import, routes_web, runbooks, security, session
from orch.gateway.authoring import ROUTES as AUTHORING_ROUTES
from orch.gateway.failover import ROUTES as FAILOVER_ROUTES
from orch.gateway.oidc import ROUTES as OIDC_ROUTES
from orch.gateway.properties import ROUTES as PROPERTIES_ROUTES
from orch.gateway.routes_designer import ROUTES as DESIGNER_ROUTES
from orch.gateway.sco_import import ROUTES as SCO_IMPORT_ROUTES
from orch.gateway.starts import IDEMPOTENCY_PARAM
from orch.gateway.state import ROUTES as STATE_ROUTES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API = "/api/v1"
_VERSION_PARAM = {"v": {"type": "integer", "minimum": 1}}

ROUTES: tuple[tuple[Operation, Handler], ...] = (
    (
        Operation("GET", "/health", "health",
                  "Liveness: 200 while serving (ok, or degraded while the database is away); "
                  "503 while starting",
                  response=Health, alt_statuses=(503,), public=True, tags=("service",)),
        meta.health,
    ),
    (
        Operation("GET", "/health/ready", "health_ready",
                  "Readiness: 200 once the database is a reachable primary, the admin exists "
                  "and a runbook server is up; else 503 naming what is missing",
                  response=Readiness, alt_statuses=(503,), public=True, tags=("service",)),
        meta.ready,
    ),
    (
        Operation("GET", f"{API}/openapi.json", "openapi", "This OpenAPI document",
                  public=True, tags=("service",)),
        meta.openapi,
    ),
    (
        Operation("POST", f"{API}/runbooks", "create_runbook",
                  "Check in a new runbook (its document is the body)",
                  body=RunbookDocument, query=CheckInQuery, response=CheckInResult, status=201,
                  errors=(400, 403, 409, 422), tags=("runbooks",)),
        runbooks.create_runbook,
    ),
    (
        Operation("GET", f"{API}/runbooks", "list_runbooks", "List runbooks by path",
                  query=ListRunbooksQuery, response=RunbookList, errors=(403, 422),
                  tags=("runbooks",)),
        runbooks.list_runbooks,
    ),
    (
        Operation("PUT", f"{API}/runbooks/{{id}}", "update_runbook",
                  "Check in a new version of a runbook",
                  body=RunbookDocument, query=CheckInQuery, response=CheckInResult,
                  errors=(400, 403, 404, 409, 422), tags=("runbooks",)),
        runbooks.update_runbook,
    ),
    (
        Operation("GET", f"{API}/runbooks/{{id}}", "get_runbook",
                  "A runbook with its versions and current document",
                  response=RunbookDetail, errors=(403, 404), tags=("runbooks",)),
        runbooks.get_runbook,
    ),
    (
        Operation("GET", f"{API}/runbooks/{{id}}/versions/{{v}}", "get_runbook_version",
                  "One checked-in version of a runbook", response=RunbookVersion,
                  path_params=_VERSION_PARAM, errors=(403, 404), tags=("runbooks",)),
        runbooks.get_runbook_version,
    ),
    (
        Operation("POST", f"{API}/jobs", "start_job",
                  "Start a job of a runbook (by id or path) with parameters",
                  body=StartJob, response=Job, status=201, errors=(400, 403, 404, 409, 422),
                  headers=IDEMPOTENCY_PARAM, tags=("jobs",)),
        jobs.start_job,
    ),
    (
        Operation("GET", f"{API}/jobs", "list_jobs", "List jobs, newest first",
                  query=ListJobsQuery, response=JobList, errors=(403, 422), tags=("jobs",)),
        jobs.list_jobs,
    ),
    (
        Operation("GET", f"{API}/jobs/{{id}}", "get_job", "A job",
                  response=Job, errors=(403, 404), tags=("jobs",)),
        jobs.get_job,
    ),
    (
        Operation("POST", f"{API}/jobs/{{id}}/stop", "stop_job",
                  "Ask a job to stop (it turns `stopped` once its activities are cancelled)",
                  response=Job, status=202, errors=(403, 404, 409), tags=("jobs",)),
        jobs.stop_job,
    ),
    (
        Operation("GET", f"{API}/instances/{{id}}", "get_instance",
                  "An instance with every activity run, in the order they started",
                  response=Instance, errors=(403, 404), tags=("jobs",)),
        jobs.get_instance,
    ),
    *routes_import.ROUTES,
    *SCO_IMPORT_ROUTES,
    *routes_web.ROUTES,
    *session.ROUTES,
    *OIDC_ROUTES,
    *security.ROUTES,
    *STATE_ROUTES,
    *FAILOVER_ROUTES,
    *AUTHORING_ROUTES,
    *PROPERTIES_ROUTES,
    *DESIGNER_ROUTES,
)
