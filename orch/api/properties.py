"""Runbook properties resources: the answer of disable and enable."""

from __future__ import annotations

from datetime import datetime

from orch.api.base import Id, Response


class RunbookEnabled(Response, kw_only=True):
    """The answer of ``POST /runbooks/{id}/disable`` and ``…/enable``."""

    runbook_id: Id
    disabled: bool
    disabled_at: datetime | None
    """When it was disabled (null: enabled)."""
    stopped_jobs: list[Id]
    """Monitor jobs this disable asked to stop."""
