"""Runbook resources: check-in results, runbooks, their versions, lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orch.api.base import Cursor, Id, Limit, Query, Response


class CheckInQuery(Query, kw_only=True):
    comment: str = ""
    """The check-in comment recorded with the new version."""


class CheckInResult(Response, kw_only=True):
    id: Id
    version: int
    path: str
    hash: str
    """sha256 (hex) of the canonical document bytes."""


class VersionSummary(Response, kw_only=True):
    version: int
    hash: str
    comment: str
    created_by: str | None
    """User name, null when unknown (e.g. the user was deleted)."""
    created_at: datetime


class RunbookVersion(Response, kw_only=True):
    runbook_id: Id
    path: str
    version: int
    hash: str
    comment: str
    created_by: str | None
    created_at: datetime
    document: dict[str, Any]
    """The ``orch.runbook/1`` document of this version."""


class RunbookSummary(Response, kw_only=True):
    id: Id
    path: str
    folder: str
    name: str
    current_version: int
    is_monitor: bool
    max_concurrent_jobs: int
    checked_out_by: str | None
    checked_out_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RunbookDetail(RunbookSummary, kw_only=True):
    """A runbook with every version (oldest first) and its current document."""

    versions: list[VersionSummary]
    document: dict[str, Any]
    servers: list[str] = []
    """The runbook servers in force, primary first (empty: any server); see
    ``GET /runbooks/{id}/servers``."""
    servers_inherited_from: str | None = None
    """The folder whose assignment is in force; null when the runbook's own or none."""


class RunbookList(Response, kw_only=True):
    items: list[RunbookSummary]
    next: str | None


class ListRunbooksQuery(Query, kw_only=True):
    folder: str | None = None
    """Only runbooks in this folder or below it."""
    cursor: Cursor | None = None
    limit: Limit = 100
