"""The error body every 4xx (and, for bugs, 5xx) response carries."""

from __future__ import annotations

from orch.api.base import Response


class Fault(Response, kw_only=True):
    """One fault of an invalid document or body: where, what, and a stable slug."""

    path: str
    message: str
    code: str


class ErrorDetail(Response, kw_only=True):
    code: str
    """Stable slug: ``malformed-json``, ``invalid-document``, ``invalid-body``,
    ``unauthorized``, ``forbidden``, ``not-found``, ``conflict`` …"""
    message: str
    path: str | None = None
    """JSON path of the (first) fault, e.g. ``$.activities[1].type``; null if not about one."""
    faults: list[Fault] | None = None
    """Every fault of an invalid document (its first one is ``path``); null otherwise."""


class ErrorBody(Response, kw_only=True):
    error: ErrorDetail
