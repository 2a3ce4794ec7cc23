"""The SCO import's query and report (``POST /api/v1/runbooks/import-sco``)."""

from __future__ import annotations

from typing import Literal

from orch.api.base import Query, Response

Action = Literal["created", "updated", "unchanged"]


class ScoImportQuery(Query, kw_only=True):
    folder: str = "/"
    """Where the export's outermost folder goes (its sub-folders become folders below)."""
    dry_run: bool = False
    """Translate, validate and work out what would change, then write nothing."""


class ScoActivity(Response, kw_only=True):
    name: str
    """The SCO activity's name."""
    sco_type: str
    """Its SCO type (``ObjectTypeName``)."""
    id: str
    """The orch activity id (a stable slug of the name)."""
    type: str
    """The orch activity type (``not_imported`` for a placeholder)."""
    placeholder: bool
    enabled: bool


class ScoRunbook(Response, kw_only=True):
    path: str
    id: str | None
    """Null in a dry run for a runbook it would create."""
    version: int | None
    action: Action
    enabled: bool
    """False: imported disabled (it has placeholders or warnings to review first)."""
    sco_unique_id: str
    activities: list[ScoActivity]
    warnings: list[str]


class ScoVariable(Response, kw_only=True):
    name: str
    sco_name: str
    encrypted: bool
    needs_value: bool
    """True: encrypted in SCO, so created without a value: set it (``PUT /variables/{name}``)."""
    action: Literal["created", "kept"]
    """``kept``: a variable of that name existed and was left as it is."""


class ScoCounter(Response, kw_only=True):
    name: str
    default: int
    action: Literal["created", "kept"]


class ScoSchedule(Response, kw_only=True):
    name: str
    needs_definition: bool
    """True: orch has no schedule of that name yet (``PUT /schedules/{name}``)."""


class ScoImportReport(Response, kw_only=True):
    runbooks: list[ScoRunbook]
    variables: list[ScoVariable]
    counters: list[ScoCounter]
    schedules: list[ScoSchedule]
    warnings: list[str]
    """Warnings not about one runbook (variables, schedules…)."""
    dry_run: bool
