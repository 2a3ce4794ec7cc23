"""Reads of jobs and instances in the API's shapes (rows convert straight to Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from orch.api import ActivityRun, Instance, Job
from orch.api.jobs import ChildJob
from orch.sql import Q


async def get_job(conn: asyncpg.Connection, job_id: uuid.UUID | str) -> Job | None:
    row = await conn.fetchrow(Q.api_job, job_id)
    return None if row is None else msgspec.convert(dict(row), Job)


async def list_jobs(
    conn: asyncpg.Connection,
    *,
    runbook_id: uuid.UUID | str | None,
    status: str | None,
    server: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    scope: list[str] | None = None,
) -> list[Job]:
    """Newest first; ``after`` is the (created_at, id) of the previous page's last job;
    only jobs of runbooks in the ``scope`` subtrees when given."""
    created, last_id = after if after is not None else (None, None)
    rows = await conn.fetch(Q.api_jobs_filtered, runbook_id, status, server, since, until,
                            created, last_id, limit, scope)
    return [msgspec.convert(dict(r), Job) for r in rows]


async def get_instance(conn: asyncpg.Connection, instance_id: uuid.UUID) -> Instance | None:
    """The instance with every activity run in the order they started, and its child jobs."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(Q.api_instance, instance_id)
        if row is None:
            return None
        runs = await conn.fetch(Q.api_activity_runs, instance_id)
        children = await conn.fetch(Q.api_instance_children, row["job_id"], instance_id)
        takeovers = await conn.fetch(Q.instance_takeovers, instance_id)
    return msgspec.convert(
        {
            **dict(row),
            "activity_runs": [msgspec.convert(dict(r), ActivityRun) for r in runs],
            "child_jobs": [msgspec.convert(dict(c), ChildJob) for c in children],
            "takeovers": [dict(t) for t in takeovers],
        },
        Instance,
    )


async def runbook_path_of_job(conn: asyncpg.Connection, job_id: str) -> str | None:
    job = await get_job(conn, job_id)
    return None if job is None else job.runbook_path
