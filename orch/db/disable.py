"""Disabling and enabling a runbook: no new jobs while disabled, its monitors stopped.

A disabled runbook refuses starts (``create_job`` raises ``Conflict``, a 409);
jobs already queued stay queued with the waiting reason ``runbook disabled``
(the claim skips them) and run once it is enabled again. Its live monitor job
is asked to stop, through the same path as ``POST /jobs/{id}/stop``.
"""

from __future__ import annotations

import uuid

import asyncpg

from orch.api.properties import RunbookEnabled
from orch.db.jobs import request_stop
from orch.errors import Conflict, NotFound
from orch.sql import Q

__all__ = ["RunbookEnabled", "set_disabled"]


async def set_disabled(
    conn: asyncpg.Connection, runbook_id: uuid.UUID, disabled: bool, *, actor: str | None
) -> RunbookEnabled:
    """Disable (``True``) or enable the runbook; repeating either is harmless."""
    stopped: list[str] = []
    async with conn.transaction():
        row = await conn.fetchrow(Q.set_runbook_disabled, runbook_id, disabled, actor)
        if row is None:
            raise NotFound(f"no runbook {runbook_id}")
        if disabled:
            for (job_id,) in await conn.fetch(Q.live_monitor_jobs, runbook_id):
                try:
                    await request_stop(conn, job_id)
                except Conflict:
                    continue  # it ended meanwhile
                stopped.append(job_id)
    return RunbookEnabled(runbook_id=str(runbook_id), disabled=row["disabled_at"] is not None,
                          disabled_at=row["disabled_at"], stopped_jobs=stopped)
