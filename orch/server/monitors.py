"""Monitor runbooks on a runbook server: one long-lived job, one instance per trigger.

A runbook whose start activity is a monitor gets one job (the unique index
``jobs_one_live_monitor``). Its claimed instance — the *monitor instance* —
runs the monitor activity, which never finishes while it watches. Each
trigger (``ctx.trigger`` / a yielded value) goes to this job's
:class:`MonitorTriggers`, which in one statement (``monitor_trigger_instance``)
creates a new instance of the same job (``instances.triggered_by``) with its
start run recorded as a success carrying the trigger's data, then runs it on
this server. Running it is a *resume*: the recorded start run is adopted and
only the rest of the runbook runs (the runtime's ``start_data`` does the same
in memory; recording the start with the instance row means a takeover after
a crash resumes the trigger instance correctly and never runs the monitor in
it).

The job stays ``running`` while trigger instances come and go (only the
monitor instance's outcome ends a monitor job, see ``write_batch``);
``jobs.instance_id`` is the latest trigger instance. Stopping the job stops
the trigger instances in flight and then the monitor.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from actors import lineage as lin
from actors.store import InstancePlan, InstanceRef, RecordedRun
from orch.db.lost import RETRYABLE, Backoff
from orch.errors import ActivityError
from orch.logging import get_logger
from orch.sdk import Context, format_time
from orch.sql import Q

if TYPE_CHECKING:
    from actors.instance import InstanceActor

__all__ = ["MonitorTriggers"]

log = get_logger(__name__)

StartInstance = Callable[[InstancePlan], Any]
"""Runs a trigger instance on the server; returns something with ``.actor`` and ``.task``."""


class MonitorTriggers:
    """The :class:`~orch.sdk.services.TriggerSink` of one monitor instance."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        plan: InstancePlan,
        start_instance: StartInstance,
        *,
        patience: float = 10.0,
    ) -> None:
        self.pool = pool
        self.plan = plan
        self.start_instance = start_instance
        self.patience = patience
        """How long a refused trigger waits for the stop (or fencing) that explains it."""
        self.running: dict[str, Any] = {}
        """Trigger instances in flight (instance id → the server's entry)."""
        self.closed = False
        self.count = 0

    async def trigger(self, ctx: Context, items: list[dict[str, str]]) -> str:
        if self.closed:
            raise ActivityError("the monitor's job is stopping")
        plan = self.plan
        now = datetime.now(UTC)
        at = format_time(now)
        common = {"Status": "success", "StartTime": at, "EndTime": at, "ErrorSummary": "",
                  "ActivityName": ctx.activity_name}  # fmt: skip
        published = [{**item, **common} for item in items]
        instance_id = str(uuid.uuid4())
        run_id = str(uuid.uuid4())
        args = (uuid.UUID(plan.ref.job_id), uuid.UUID(plan.ref.instance_id), plan.ref.epoch,
                plan.server, uuid.UUID(instance_id), uuid.UUID(run_id), ctx.activity_id,
                published, lin.START, now)
        backoff = Backoff()
        attempt = 0
        while True:  # a failover must not end the monitor: wait for the new primary
            attempt += 1
            try:
                async with self.pool.acquire() as conn:
                    created = await conn.fetchval(Q.monitor_trigger_instance, *args)
                break
            except asyncpg.UniqueViolationError:
                if attempt == 1:
                    raise
                created = True  # an earlier try committed; only its answer was lost
                break
            except RETRYABLE as exc:
                log.warning("monitor trigger: database unavailable, retrying",
                            job_id=plan.ref.job_id, error=str(exc))
                await asyncio.sleep(backoff.next())
        if not created:
            # A stop was asked (or another server owns the monitor now): the
            # server cancels this monitor soon — by the stop notification, its
            # poll or its heartbeat's fencing check. Wait for that rather than
            # fail the job; fail only if it never comes.
            self.closed = True
            log.info("trigger refused: the job is stopping", job_id=plan.ref.job_id)
            await asyncio.sleep(self.patience)
            raise ActivityError("the monitor's job is stopping or no longer runs here")
        self.count += 1
        recorded = RecordedRun(
            run_id=run_id, activity=ctx.activity_id, parent_run=None, item=0, attempt=1,
            started_at=now, lineage=lin.START, status="success", published=published,
            ended_at=now,
        )  # fmt: skip
        trigger_plan = InstancePlan(
            ref=InstanceRef(job_id=plan.ref.job_id, instance_id=instance_id, epoch=1),
            runbook_id=plan.runbook_id,
            runbook_name=plan.runbook_name,
            runbook_path=plan.runbook_path,
            runbook_version=plan.runbook_version,
            document=plan.document,
            parameters=plan.parameters,
            server=plan.server,
            recorded=[recorded],
            started_by=plan.started_by,
        )
        log.info("monitor triggered", job_id=plan.ref.job_id, instance_id=instance_id,
                 trigger=self.count)  # fmt: skip
        self.running[instance_id] = self.start_instance(trigger_plan)
        return instance_id

    def done(self, instance_id: str) -> None:
        self.running.pop(instance_id, None)

    def stop(self) -> None:
        """No more triggers; stop the trigger instances in flight."""
        self.closed = True
        for entry in list(self.running.values()):
            actor: InstanceActor | None = getattr(entry, "actor", None)
            if actor is not None:
                actor.stop()
            else:
                entry.stop_requested = True
