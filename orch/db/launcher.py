"""``invoke_runbook`` over the database: child jobs are ordinary jobs with a parent.

A child job is created as the parent job's starter (``created_by`` is
inherited) and only if that user may ``start`` the child runbook: an operator
cannot reach an ungranted runbook through one it was granted.

Starting a child inserts its job (the insert's NOTIFY wakes every server,
this one included, so it is picked up at once). Waiting is event-driven: a
child's end NOTIFYs ``orch_job_ended`` (a trigger), the runbook server's
listener pokes :class:`JobWaiters`, which reads the ended jobs in one query;
the server's poll pokes it too, so a lost notification costs one poll interval.
"""

from __future__ import annotations

import asyncio

import asyncpg

from actors.store import ChildResult, InstanceRef
from orch.db.jobs import create_job, request_stop, resolve_runbook
from orch.db.writer import RETRYABLE
from orch.errors import ActivityError, Conflict, NotFound
from orch.sdk.registry import Registry
from orch.sql import Q

__all__ = ["JobWaiters", "PgLauncher"]


class JobWaiters:
    """Futures of jobs someone waits for, resolved when the database says they ended."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._waiting: dict[str, list[asyncio.Future[ChildResult]]] = {}
        self._poke = asyncio.Event()

    def poke(self) -> None:
        """Something may have ended: check (called by the listener and the poller)."""
        if self._waiting:
            self._poke.set()

    async def wait(self, job_id: str) -> ChildResult:
        fut: asyncio.Future[ChildResult] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(job_id, []).append(fut)
        self._poke.set()  # it may have ended already
        try:
            return await fut
        finally:
            futs = self._waiting.get(job_id)
            if futs is not None:
                if fut in futs:
                    futs.remove(fut)
                if not futs:
                    del self._waiting[job_id]

    async def run(self) -> None:
        """The checker task (owned by the runbook server)."""
        while True:
            await self._poke.wait()
            self._poke.clear()
            if not self._waiting:
                continue
            ids = list(self._waiting)
            try:
                async with self.pool.acquire() as conn:
                    rows = await conn.fetch(Q.jobs_final_status, ids)
            except RETRYABLE:
                await asyncio.sleep(0.5)  # the database is away: the next poke retries
                self._poke.set()
                continue
            for row in rows:
                result = ChildResult(
                    job_id=row["id"],
                    status=row["status"],
                    returned_data={k: str(v) for k, v in row["returned_data"].items()},
                )
                for fut in self._waiting.get(row["id"], []):
                    if not fut.done():
                        fut.set_result(result)


class PgLauncher:
    """The runtime's :class:`actors.store.ChildLauncher` for one runbook server."""

    def __init__(
        self, pool: asyncpg.Pool, waiters: JobWaiters, *, registry: Registry | None = None
    ) -> None:
        self.pool = pool
        self.waiters = waiters
        self.registry = registry

    async def start_child(
        self, parent: InstanceRef, runbook: str, parameters: dict[str, str]
    ) -> str:
        async with self.pool.acquire() as conn:
            row = await resolve_runbook(conn, runbook)
            if row is None:
                raise NotFound(f"no runbook {runbook}")
            # A child runs with the rights of whoever started the parent job.
            starter = await conn.fetchrow(Q.security_may_start_child, parent.job_id, row.path)
            if starter is not None and not starter["allowed"]:
                raise ActivityError(f"user {starter['name']!r} may not start {row.path}")
            job = await create_job(
                conn,
                runbook=row,
                parameters=dict(parameters),
                created_by=None,
                parent_job_id=parent.job_id,
                parent_instance_id=parent.instance_id,
                registry=self.registry,
            )
        return job.id

    async def wait_child(self, job_id: str) -> ChildResult:
        return await self.waiters.wait(job_id)

    async def stop_child(self, job_id: str) -> None:
        async with self.pool.acquire() as conn:
            try:
                await request_stop(conn, job_id)
            except (Conflict, NotFound):
                pass  # it ended meanwhile (or was purged): nothing to stop
