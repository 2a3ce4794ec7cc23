"""The public health bodies: liveness (``GET /health``) and readiness (``GET /health/ready``)."""

from __future__ import annotations

from typing import Literal

from orch.api.base import Response


class Health(Response, kw_only=True):
    status: Literal["ok", "degraded", "starting", "unavailable"]
    """``degraded``: the database is away (failing over); ``starting``: ``orch up``'s
    bootstrap or runbook server is not ready yet (with a 503)."""
    version: str
    database: Literal["ok", "unavailable"]
    degraded_seconds: float | None = None
    """How long the database has been unreachable (null when it answers)."""
    error: str | None = None
    """The last database error seen while degraded."""
    starting: list[str] | None = None
    """What start-up still waits for."""


class Readiness(Response, kw_only=True):
    ready: bool
    version: str
    database: Literal["ok", "unavailable"]
    degraded_seconds: float | None = None
    bootstrapped: bool
    """The first user (the admin) exists."""
    runbook_servers: int
    """Runbook servers up with a fresh heartbeat."""
    waiting_for: list[str]
    """Why it is not ready (empty when ready)."""
