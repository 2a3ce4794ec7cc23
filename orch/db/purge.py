"""Retention: purge finished jobs (and everything under them), old events, instance log
lines and audit entries, as SCO's log purge does.

:func:`purge` is shared by ``orch purge`` and the runbook servers' automatic purge
(:class:`AutoPurge`, on when ``ORCH_RETENTION_DAYS`` is set). Both take one
PostgreSQL advisory lock first, so only one purge runs at a time across every
server and CLI; a caller that does not get it skips (the other one is doing the
work). Rows go in batches of ``batch`` per short transaction, oldest first, and
``progress`` hears after each batch. Running and queued jobs are never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from orch.api.security import PurgeResult
from orch.config import Settings
from orch.db.lost import RETRYABLE
from orch.errors import Conflict
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["AutoPurge", "PurgeBusy", "count", "purge"]

log = get_logger(__name__)

Progress = Callable[[str, int], None]
"""Called with (what: jobs/events/instance_log/audit, how many removed so far)."""


class PurgeBusy(Conflict):
    """Another purge holds the lock."""


async def count(
    conn: asyncpg.Connection, *, cutoff: datetime, audit_cutoff: datetime | None
) -> PurgeResult:
    """What :func:`purge` would remove (``--dry-run``)."""
    row = await conn.fetchrow(Q.purge_count, cutoff, audit_cutoff)
    assert row is not None
    return PurgeResult(jobs=row["jobs"], events=row["events"], audit=row["audit"],
                       instance_log=row["instance_log"])


async def purge(
    conn: asyncpg.Connection,
    *,
    cutoff: datetime,
    audit_cutoff: datetime | None = None,
    batch: int = 500,
    progress: Progress | None = None,
) -> PurgeResult:
    """Remove what is older than ``cutoff`` (audit: ``audit_cutoff``; None keeps it).

    Raises :class:`PurgeBusy` when another purge is running.
    """
    if not await conn.fetchval(Q.purge_try_lock):
        raise PurgeBusy("another purge is running")
    try:
        totals = {"jobs": 0, "events": 0, "instance_log": 0, "audit": 0}

        def add(what: str, n: int) -> None:
            totals[what] += n
            if progress is not None and n:
                progress(what, totals[what])

        while True:
            async with conn.transaction():
                ids = await conn.fetchval(Q.purge_pick_jobs, cutoff, batch)
                if not ids:
                    break
                await conn.execute(Q.purge_unlink_children, ids)
                add("events", _count(await conn.execute(Q.purge_job_events, ids)))
                add("instance_log", _count(await conn.execute(Q.purge_job_log, ids)))
                add("jobs", _count(await conn.execute(Q.purge_jobs, ids)))
        for what, query, when in (("events", Q.purge_events, cutoff),
                                  ("instance_log", Q.purge_instance_log, cutoff),
                                  ("audit", Q.purge_audit, audit_cutoff)):
            if when is None:
                continue
            while True:
                n = _count(await conn.execute(query, when, batch))
                add(what, n)
                if n < batch:
                    break
        return PurgeResult(**totals)
    finally:
        await conn.fetchval(Q.purge_unlock)


def _count(status: str) -> int:
    """The row count of a command tag (``DELETE 12``)."""
    return int(status.rsplit(" ", 1)[-1])


class AutoPurge:
    """A runbook server's timer: every ``purge_interval_seconds``, purge by the retention
    settings (one server at a time: the advisory lock; the others skip that round)."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, server: str) -> None:
        self.pool = pool
        self.settings = settings
        self.server = server

    async def run(self) -> None:
        if self.settings.retention_days is None and self.settings.audit_retention_days is None:
            return  # retention off: nothing to do, ever
        while True:
            await self.once()
            await asyncio.sleep(self.settings.purge_interval_seconds)

    async def once(self) -> PurgeResult | None:
        """One round; None when retention is off, another purge runs, or the database is
        unavailable (the next round tries again)."""
        s = self.settings
        if s.retention_days is None and s.audit_retention_days is None:
            return None
        now = datetime.now(UTC)
        # events, logs and jobs follow ORCH_RETENTION_DAYS; only the audit when it is unset
        cutoff = now - timedelta(days=s.retention_days) if s.retention_days else datetime.min
        audit_cutoff = (None if s.audit_retention_days is None
                        else now - timedelta(days=s.audit_retention_days))
        try:
            async with self.pool.acquire() as conn:
                result = await purge(conn, cutoff=cutoff.replace(tzinfo=UTC),
                                     audit_cutoff=audit_cutoff)
        except PurgeBusy:
            return None
        except RETRYABLE as exc:  # a lost database (failover): try at the next interval
            log.warning("purge skipped: database unavailable", server=self.server,
                        error=str(exc))
            return None
        if any((result.jobs, result.events, result.instance_log, result.audit)):
            log.info("purged", server=self.server, jobs=result.jobs, events=result.events,
                     instance_log=result.instance_log, audit=result.audit)
        return result
