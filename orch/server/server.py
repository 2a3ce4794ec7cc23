"""The runbook server: claims jobs, runs each as an instance actor, records everything.

Tasks (all owned by one TaskGroup; if a side task dies the server stops loudly):

- ``listener``: LISTEN orch_jobs / orch_push / orch_stops / orch_job_ended /
  orch_instances. A job pushed to this server (``orch_push``: started while it
  was idle, inserted already claimed by it) starts from the notification
  itself (orch/server/pushes.py).
- ``claimer``: wakes on a notification, a poll tick or a freed slot; the wake
  flag is cleared *before* claiming, so a job inserted during a claim is seen by
  the next round. Claims up to ``claim_batch`` jobs per round trip (jobs +
  instances + events in one statement), within the free capacity.
- ``poller``: every ``poll_seconds`` wakes the claimer (a missed NOTIFY costs at
  most one interval), looks for stop requests, re-checks awaited child jobs and
  refreshes the waiting reasons of queued jobs.
- ``heartbeat``: refreshes the server row, learns the status an operator set
  (drain, maintenance; a NOTIFY on ``orch_servers`` makes it look at once),
  stops the instances it no longer owns (taken over while it was paused or cut
  off) and marks lapsed peers down.
- ``writer``: the group commit of every instance's records.
- ``purge``: with ``ORCH_RETENTION_DAYS`` / ``ORCH_AUDIT_RETENTION_DAYS`` set, purges old
  history every ``purge_interval_seconds`` (one server at a time: ``orch.db.purge``).
- one task per instance (``instance:<id>``), and ``drain`` while one runs.

Shutdown (``request_shutdown``; SIGTERM/SIGINT in the CLI) and drain (status
``draining`` set through the API): stop claiming, let instances finish within
the grace period, then cancel the rest — a cancelled actor records nothing
more — and release them so another server resumes them from their last
recorded activity. A drained server stays registered in ``maintenance``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from actors.instance import InstanceActor, RuntimeOptions
from actors.store import InstanceOutcome, InstancePlan, InstanceRef
from orch.config import Settings
from orch.crypto import KeyRing
from orch.db.connect import create_pool
from orch.db.gate import refresh_gates
from orch.db.instance_log import InstanceLogWriter
from orch.db.jobs import cached_version, pinned_version
from orch.db.launcher import JobWaiters, PgLauncher
from orch.db.packs import report_packs, server_report
from orch.db.purge import AutoPurge
from orch.db.services import CHANNELS as SERVICE_CHANNELS
from orch.db.services import pg_services
from orch.db.store import PgStore, load_plan
from orch.db.variables import PgVariables
from orch.db.writer import RETRYABLE, GroupCommitWriter, OwnershipLost
from orch.errors import OrchError
from orch.logging import get_logger
from orch.metrics import ServerMetrics, metrics_listener
from orch.sdk.registry import Registry, default_registry
from orch.server.listener import Listener
from orch.server.monitors import MonitorTriggers
from orch.server.notifier import Notifier
from orch.server.pushes import Adoption, decode_push
from orch.sql import Q

__all__ = ["PoolTooSmall", "RunbookServer", "pool_need"]

log = get_logger(__name__)

_FULL_CLAIMS_SECONDS = 5.0
"""How long claims go straight to the claim with every rule once the lean claim said
it does not apply (an assignment, a limited runbook, a server not 'up'): its
answer is only a speed-up, so a stale choice costs time, never a wrong claim."""
_DUE_MARGIN = 0.005
"""Seconds past a back-off's end before the claimer wakes for it (the database's
clock and this process's may differ by a little; waking early claims nothing)."""


@dataclass(eq=False)
class _Running:
    instance_id: str
    job_id: str
    epoch: int = 1
    task: asyncio.Task[None] | None = None
    actor: Any = None
    stop_requested: bool = False
    handing_over: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class RunbookServer:
    """One runbook server process' worth of work; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        pool_or_dsn: asyncpg.Pool | str,
        *,
        name: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings
        self.name = name or settings.server_name or socket.gethostname()
        self.registry = registry or default_registry()
        self._pool_arg = pool_or_dsn
        self.pool: asyncpg.Pool | None = None
        self._running: dict[str, _Running] = {}
        self._by_job: dict[str, _Running] = {}
        self._wake = asyncio.Event()
        self._orphans = asyncio.Event()
        self._adopt = asyncio.Event()
        """Read back the pushed jobs never started (set at each listener (re)connect)."""
        self._adoption = Adoption()
        self._stops = asyncio.Event()
        self._reasons = asyncio.Event()
        self._due_at: float | None = None
        """When (monotonic) the earliest back-off of a queued job ends: the claimer
        wakes then (``_due_loop``)."""
        self._due_changed = asyncio.Event()
        self._idle = asyncio.Event()
        self._shutdown = asyncio.Event()
        self._draining = False
        self._maintenance = False
        self._status_poke = asyncio.Event()
        self._drain_task: asyncio.Task[None] | None = None
        self._db_lost = False
        self._mark_after = 0.0
        """Monotonic time before which this server marks no peer down (just reconnected)."""
        self._pending_stops: set[str] = set()
        self.claimed = 0
        self._full_claims_until = 0.0
        """Until then (monotonic), claims skip the lean statement (it said it does not apply)."""
        self.listener: Listener | None = None
        self.writer: GroupCommitWriter | None = None
        self.metrics = ServerMetrics(self.name, lambda: len(self._running))
        self._runtime_options = RuntimeOptions(on_run_end=self.metrics.activity)
        self.metrics_port: int | None = None
        """The port of this server's ``/metrics`` listener once it listens (``metrics_port``)."""

    # -- public API -------------------------------------------------------------------

    @property
    def running_count(self) -> int:
        return len(self._running)

    def request_shutdown(self) -> None:
        """Begin the hand-over (safe to call from a signal handler via the loop)."""
        self._shutdown.set()

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Serve until ``request_shutdown()``; returns after a clean shutdown."""
        own_pool = not isinstance(self._pool_arg, asyncpg.Pool)
        if own_pool:
            # the listener holds one connection for good; each group commit in flight one
            self.pool = await create_pool(
                str(self._pool_arg), min_size=2,
                max_size=self.settings.pool_size + self.settings.commit_inflight + 1,
            )
        else:
            self.pool = self._pool_arg  # type: ignore[assignment]
        pool = self.pool
        assert pool is not None
        if not own_pool:
            _reserve(pool, self)
        try:
            await self._serve(pool, ready)
        finally:
            if own_pool:
                await pool.close()
            else:
                left = [e for e in _SHARED.pop(id(pool), []) if e[0] is not self]
                if left:
                    _SHARED[id(pool)] = left

    @contextlib.asynccontextmanager
    async def serving(self, grace: float = 30.0) -> AsyncIterator[RunbookServer]:
        """Run in a task of the caller's loop: entered once ready (a start-up error is
        raised here), left after the hand-over (``request_shutdown``), at most
        ``grace`` seconds — an embedded server (tests, benchmarks, ``orch up``-like
        tools)."""
        ready = asyncio.Event()
        task = asyncio.create_task(self.run(ready), name=f"runbook-server:{self.name}")
        waiter = asyncio.create_task(ready.wait(), name=f"runbook-server-ready:{self.name}")
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiter.cancel()
            task.result()  # raises the start-up error
        try:
            yield self
        finally:
            self.request_shutdown()
            await asyncio.wait_for(task, grace)

    # -- the serving body ---------------------------------------------------------------

    async def _serve(self, pool: asyncpg.Pool, ready: asyncio.Event | None) -> None:
        s = self.settings
        self.writer = GroupCommitWriter(
            pool, self.name, max_batch=s.commit_batch, max_inflight=s.commit_inflight,
            running_count=lambda: self.running_count,
            on_batch=self.metrics.batch, on_outcome=self.metrics.outcome,
        )
        self.log_writer = InstanceLogWriter(pool)
        self.waiters = JobWaiters(pool)
        self.store = PgStore(pool, self.writer)
        self.launcher = PgLauncher(pool, self.waiters, registry=self.registry)
        keys = KeyRing.load(s.data_dir)  # encrypted variables decrypt only here
        self.variables = PgVariables(pool, decrypt=keys.decrypt if keys is not None else None)
        self.services, self.bell = pg_services(pool, poll_seconds=s.poll_seconds,
                                               variables=self.variables)  # fmt: skip
        self.listener = Listener(pool, self._on_notify, self._on_connect)
        self.report = server_report(self.registry)
        packs = self.report.packs
        async with pool.acquire() as conn:
            status = await conn.fetchval(
                Q.register_server, self.name, socket.gethostname(), os.getpid(), s.capacity, packs
            )
            await report_packs(conn, self.name, self.report)
            released = await conn.fetchval(Q.release_previous_life, self.name)
        self._maintenance = status == "maintenance"
        if released:
            log.info("released instances of a previous run", server=self.name, count=released)
        log.info("runbook server up", server=self.name, capacity=s.capacity, status=status)

        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            side = [
                tg.create_task(self.writer.run(), name=f"{self.name}:writer"),
                tg.create_task(self.listener.run(), name=f"{self.name}:listener"),
                tg.create_task(self.waiters.run(), name=f"{self.name}:child-waiters"),
                tg.create_task(self._heartbeat(), name=f"{self.name}:heartbeat"),
                tg.create_task(self._poller(), name=f"{self.name}:poller"),
                tg.create_task(self._reasons_loop(), name=f"{self.name}:waiting-reasons"),
                tg.create_task(self._due_loop(), name=f"{self.name}:back-offs"),
                tg.create_task(self._stop_loop(), name=f"{self.name}:stops"),
                tg.create_task(Notifier(pool, s, self.name).run(),
                               name=f"{self.name}:notifier"),
                tg.create_task(AutoPurge(pool, s, self.name).run(),
                               name=f"{self.name}:purge"),
            ]
            if s.metrics_port is not None:
                side.append(tg.create_task(self._serve_metrics(s.metrics_port),
                                           name=f"{self.name}:metrics"))
            log_task = tg.create_task(self.log_writer.run(), name=f"{self.name}:instance-log")
            claimer = tg.create_task(self._claimer(), name=f"{self.name}:claimer")
            await _first(self.listener.connected.wait(), self._shutdown.wait())
            if ready is not None and self.listener.connected.is_set():
                ready.set()
            await self._shutdown.wait()
            claimer.cancel()
            if self._drain_task is not None:
                await self._drain_task  # a drain asked through the API: let it end first
            await self._hand_over()
            writer_task = side[0]
            for task in side[1:]:
                task.cancel()
            self.writer.close()
            await writer_task
            self.log_writer.close()
            await log_task
        async with self._tolerate("final status"), pool.acquire() as conn:
            await conn.execute(Q.set_server_status, self.name, "stopped", 0)
        log.info("runbook server stopped", server=self.name)

    async def _drain(self) -> None:
        """A drain asked through the API: hand over, then stay registered in maintenance."""
        await self._hand_over()
        if not self._shutdown.is_set():
            assert self.pool is not None
            self._maintenance = True
            self._draining = False
            async with self._tolerate("maintenance status"), self.pool.acquire() as conn:
                await conn.execute(Q.set_server_status, self.name, "maintenance",
                                   self.running_count)
            log.info("drained; in maintenance", server=self.name)

    async def _hand_over(self) -> None:
        """Stop claiming; give running instances the grace period; release the rest."""
        assert self.pool is not None and self.writer is not None
        self._draining = True
        async with self._tolerate("draining status"), self.pool.acquire() as conn:
            await conn.execute(Q.set_server_status, self.name, "draining", self.running_count)
        log.info("draining", server=self.name, running=self.running_count,
                 grace=self.settings.shutdown_grace_seconds)
        if self._running:
            self._idle.clear()
            try:
                await asyncio.wait_for(self._idle.wait(), self.settings.shutdown_grace_seconds)
            except TimeoutError:
                pass
        left = list(self._running.values())
        if not left:
            return
        for entry in left:
            entry.handing_over = True
            if entry.task is not None:
                entry.task.cancel()
        await asyncio.gather(*(e.task for e in left if e.task is not None),
                             return_exceptions=True)
        await self.writer.flush()
        ids = [uuid.UUID(e.instance_id) for e in left]
        row = None
        # If this fails the instances stay ours: the next start of this server
        # (same name) releases them, or peers take them once it is marked down.
        async with self._tolerate("release"), self.pool.acquire() as conn:
            row = await conn.fetchrow(Q.release_instances, self.name, ids)
        log.info("handed over", server=self.name, released=row["released"] if row else 0)

    # -- notifications --------------------------------------------------------------------

    def _on_notify(self, channel: str, payload: str) -> None:
        if channel == "orch_jobs":
            self._wake.set()
        elif channel == "orch_push":
            self._on_push(payload)
        elif channel == "orch_stops":
            if payload in self._by_job:
                self._stop_job(payload)
            else:
                # Possibly ours, with the claim's answer not processed yet.
                self._pending_stops.add(payload)
                self._stops.set()
        elif channel == "orch_job_ended":
            self.waiters.poke()
        elif channel == "orch_instances":
            self._orphans.set()
            self._wake.set()
        elif channel == "orch_servers" and payload == self.name:
            self._status_poke.set()  # an operator changed this server's status
        elif channel in SERVICE_CHANNELS:
            self.bell.ring(payload)  # an approval decided, a webhook request accepted

    def _on_connect(self) -> None:
        # (Re)connected: whatever was notified while deaf is found by reading.
        self._adopt.set()
        self._wake.set()
        self._orphans.set()
        self._stops.set()
        self._status_poke.set()
        self.waiters.poke()
        self.bell.ring_all()

    # -- claiming ---------------------------------------------------------------------

    async def _claimer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()  # before reading: a job inserted meanwhile wakes us again
            if self._adopt.is_set():
                # even draining or in maintenance: what it cannot run, it hands back
                async with self._tolerate("read back pushes", retry=self._wake):
                    await self._adopt_pushed()
            if self._draining or self._maintenance or self._shutdown.is_set():
                continue  # claiming nothing; ending maintenance wakes us
            async with self._tolerate("claim", retry=self._wake):
                if self._orphans.is_set():
                    self._orphans.clear()
                    await self._claim_instances()
                await self._claim_jobs()

    async def _serve_metrics(self, port: int) -> None:
        """``GET /metrics`` on 127.0.0.1 for the server's whole life (cancelled at the end)."""
        async with metrics_listener(port) as bound:
            self.metrics_port = bound
            log.info("metrics listening", server=self.name,
                     url=f"http://127.0.0.1:{bound}/metrics")
            await asyncio.get_running_loop().create_future()

    async def _claim_jobs(self) -> None:
        s = self.settings
        while not self._draining:
            free = s.capacity - len(self._running)
            if free <= 0:
                self._reasons.set()
                return
            want = min(free, s.claim_batch)
            began = time.perf_counter()
            async with self._claiming_session() as conn:
                rows = await self._claim_on(conn, want)
                took = time.perf_counter() - began
                for row, lean in rows:
                    self._start_claimed(row, lean)
                if rows:
                    # The instances run up to their first write before the
                    # bookkeeping below and a pool session's reset (pickup latency:
                    # on an idle machine each step of this path costs several
                    # times its warm time).
                    await asyncio.sleep(0)
            self.metrics.claimed(took, len(rows))
            if len(rows) < want:
                self._reasons.set()  # what is left may be waiting for a reason
                return

    @contextlib.asynccontextmanager
    async def _claiming_session(self) -> AsyncIterator[asyncpg.Connection]:
        """The session claims go on: the listener's — the notification that woke the
        claimer came in on it, and it needs no pool acquire nor release (whose
        reset is a round trip) — else one of the pool's."""
        listening = self.listener.conn if self.listener is not None else None
        if listening is not None:
            yield listening
            return
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            yield conn

    async def _claim_on(
        self, conn: asyncpg.Connection, want: int
    ) -> list[tuple[asyncpg.Record, bool]]:
        """Claim up to ``want`` jobs: the lean claim when the common case holds, else
        the claim with every rule. Each row comes with whether it was a lean claim
        (its events are then the writer's to write)."""
        running = len(self._running)
        if time.monotonic() >= self._full_claims_until:
            rows = await conn.fetch(Q.claim_jobs_fast, self.name, want, running)
            if not rows or rows[0]["job_id"] is not None:
                return [(row, True) for row in rows]
            # Assignments or limits exist (or this server is not 'up'): claim
            # with every rule, and skip the lean attempt for a while.
            self._full_claims_until = time.monotonic() + _FULL_CLAIMS_SECONDS
        rows = await conn.fetch(Q.claim_jobs, self.name, want, running,
                                self.settings.server_timeout_seconds)
        return [(row, False) for row in rows]

    async def _claim_instances(self) -> None:
        s = self.settings
        free = s.capacity - len(self._running)
        if free <= 0:
            return
        want = min(free, s.claim_batch)
        async with self._claiming_session() as conn:
            rows = await conn.fetch(Q.claim_instances, self.name, want,
                                    s.server_timeout_seconds)
        if len(rows) == want:
            self._orphans.set()  # maybe more: look again at once, not at the next poll
            self._wake.set()
        for row in rows:
            entry = _Running(row["instance_id"], row["job_id"], row["epoch"])
            self._add(entry)
            log.info("taking over instance", instance_id=entry.instance_id, epoch=row["epoch"])
            entry.task = self._tg.create_task(
                self._resume(entry), name=f"instance:{entry.instance_id}"
            )
        if rows:
            self._stops.set()  # a stop may have been asked while nobody owned them

    # -- pushed jobs (orch/server/pushes.py) -------------------------------------------

    def _on_push(self, payload: str) -> None:
        push = decode_push(payload)
        if push is None or push.server != self.name:
            return
        self._adoption.note(push.instance_id)
        if push.instance_id not in self._running:  # else read back already
            self._take_pushed(push.row())

    def _take_pushed(self, row: Mapping[str, Any]) -> None:
        """Start a job pushed to this server — or, when it cannot take one now (a
        push raced its drain, or a claim that filled it), hand it back."""
        self.metrics.pushed()
        if (self._draining or self._maintenance or self._shutdown.is_set()
                or len(self._running) >= self.settings.capacity):
            self._tg.create_task(self._hand_back(row["instance_id"]),
                                 name=f"hand-back:{row['instance_id']}")
            return
        self._start_claimed(row, lean=True)

    async def _hand_back(self, instance_id: str) -> None:
        """Release a pushed job's instance unstarted: any server takes it over
        (this one included, once it can). Should the release fail, the instance
        stays this server's and the next read-back after its listener's
        reconnect finds it again."""
        assert self.pool is not None
        log.info("handing back a pushed job", instance_id=instance_id)
        async with self._tolerate("hand back"), self.pool.acquire() as conn:
            await conn.fetchrow(Q.release_instances, self.name, [uuid.UUID(instance_id)])

    async def _adopt_pushed(self) -> None:
        """Start the jobs pushed to this server while its listener did not listen."""
        self._adopt.clear()  # before reading: a reconnect meanwhile asks again
        self._adoption.begin(self._running)
        try:
            async with self._claiming_session() as conn:
                rows = await conn.fetch(Q.pushed_unstarted, self.name)
        except BaseException:
            self._adopt.set()  # not read: read at the next wake-up
            raise
        finally:
            seen = self._adoption.end()
        started = False
        for row in rows:
            if row["instance_id"] in seen:  # running, or started or ended meanwhile
                continue
            log.info("starting a job pushed while not listening", job_id=row["job_id"])
            self._take_pushed(row)
            started = True
        if started:
            self._stops.set()  # a stop asked while it was not listening either

    def _start_claimed(self, row: Mapping[str, Any], lean: bool) -> None:
        self.claimed += 1
        entry = _Running(row["instance_id"], row["job_id"])
        self._add(entry)
        if lean:
            assert self.writer is not None
            self.writer.claimed(entry.instance_id)
        plan = InstancePlan(
            ref=InstanceRef(job_id=row["job_id"], instance_id=row["instance_id"], epoch=1),
            runbook_id=row["runbook_id"],
            runbook_name=row["runbook_name"],
            runbook_path=row["runbook_path"],
            runbook_version=row["runbook_version"],
            document=b"",
            parameters=row["parameters"],
            server=self.name,
            started_by=row["created_by"],
        )
        entry.task = self._tg.create_task(
            self._run_instance(entry, plan), name=f"instance:{entry.instance_id}"
        )

    def _add(self, entry: _Running, *, by_job: bool = True) -> None:
        self._running[entry.instance_id] = entry
        self._adoption.note(entry.instance_id)
        if not by_job:
            return  # a monitor's trigger instance: its job is the monitor's entry
        self._by_job[entry.job_id] = entry
        if entry.job_id in self._pending_stops:
            self._pending_stops.discard(entry.job_id)
            entry.stop_requested = True

    # -- instances --------------------------------------------------------------------

    async def _resume(self, entry: _Running) -> None:
        assert self.pool is not None
        try:
            async with self.pool.acquire() as conn:
                plan = await load_plan(conn, entry.instance_id, server=self.name)
        except RETRYABLE:
            log.warning("could not load instance to resume; releasing it",
                        instance_id=entry.instance_id)
            try:
                await self._release_when_possible(entry)
            finally:
                self._remove(entry)
            return
        if plan.ref.epoch != entry.epoch:
            log.warning("instance taken over again before it was loaded; dropped",
                        instance_id=entry.instance_id)
            self._remove(entry)
            return
        await self._run_instance(entry, plan)

    async def _release_when_possible(self, entry: _Running) -> None:
        """The database went away under an instance: release it once it is back.

        The instance is not failed for a lost connection: what it recorded is
        flushed, then it is released and taken over (by any eligible server,
        this one included) and resumed from its records, with a new epoch.
        """
        assert self.pool is not None and self.writer is not None
        delay = 0.05
        while True:
            try:
                await self.writer.flush()
                async with self.pool.acquire() as conn:
                    await conn.fetchrow(Q.release_instances, self.name,
                                        [uuid.UUID(entry.instance_id)])
                break
            except RETRYABLE as exc:
                log.warning("database unavailable", during="release", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._orphans.set()
        self._wake.set()

    async def _run_instance(self, entry: _Running, plan: InstancePlan) -> None:
        assert self.pool is not None
        try:
            try:
                document, compiled = await self._pinned(plan.runbook_id, plan.runbook_version)
                if not plan.document:
                    plan.document = document
                triggers = None
                if compiled.is_monitor:
                    triggers = MonitorTriggers(
                        self.pool, plan, self._start_trigger,
                        patience=2 * self.settings.poll_seconds + self.settings.heartbeat_seconds,
                    )
                    entry.extra["monitor"] = triggers
                actor = InstanceActor(
                    plan,
                    self.store,
                    options=self._runtime_options,
                    registry=self.registry,
                    compiled=compiled,
                    launcher=self.launcher,
                    variables=self.variables,
                    services=self.services,
                    triggers=triggers,
                    log_sink=self.log_writer,
                )
                entry.actor = actor
                if entry.stop_requested:
                    actor.stop()
                timer = _job_timer(compiled, plan, actor)
                try:
                    await actor.run()
                finally:
                    if timer is not None:
                        timer.cancel()
            except OwnershipLost:
                log.warning("instance taken over by another server; dropped",
                            instance_id=entry.instance_id)
            except RETRYABLE as exc:
                # The database went away (a read outside the group commit, e.g.
                # the pinned version or variables): not the runbook's failure.
                log.warning("database lost under an instance; it will be resumed",
                            instance_id=entry.instance_id, error=str(exc))
                await self._release_when_possible(entry)
            except Exception as exc:
                # A runtime bug must not leave the job running forever.
                log.exception("instance crashed", instance_id=entry.instance_id)
                await self._record_crash(plan.ref, exc)
        finally:
            if self.writer is not None:
                self.writer.forget(entry.instance_id)
            self._remove(entry)

    def _start_trigger(self, plan: InstancePlan) -> _Running:
        """Run a monitor's trigger instance (created by ``MonitorTriggers``) here."""
        monitor = self._by_job.get(plan.ref.job_id)
        entry = _Running(plan.ref.instance_id, plan.ref.job_id, plan.ref.epoch)
        entry.extra["monitor_entry"] = monitor
        self._add(entry, by_job=False)
        entry.task = self._tg.create_task(
            self._run_instance(entry, plan), name=f"instance:{entry.instance_id}"
        )
        return entry

    async def _pinned(self, runbook_id: str, version: int) -> tuple[bytes, Any]:
        assert self.pool is not None
        hit = cached_version(runbook_id, version, self.registry)
        if hit is not None:
            return hit
        async with self.pool.acquire() as conn:
            return await pinned_version(conn, runbook_id, version, self.registry)

    async def _record_crash(self, ref: InstanceRef, exc: BaseException) -> None:
        from datetime import UTC, datetime

        outcome = InstanceOutcome(
            status="failed", returned_data={}, ended_at=datetime.now(UTC),
            error=f"internal error: {type(exc).__name__}: {exc}",
        )
        try:
            await self.store.record_instance_outcome(ref, outcome)
        except Exception:
            log.exception("could not record the crash", instance_id=ref.instance_id)

    def _remove(self, entry: _Running) -> None:
        self._adoption.note(entry.instance_id)
        monitor = entry.extra.get("monitor_entry")
        if monitor is not None and "monitor" in monitor.extra:
            monitor.extra["monitor"].done(entry.instance_id)
        if self._running.get(entry.instance_id) is entry:
            del self._running[entry.instance_id]
        if self._by_job.get(entry.job_id) is entry:
            del self._by_job[entry.job_id]
            if "monitor" in entry.extra:
                # A monitor job may have other instances here (its monitor, trigger
                # instances taken over): stop requests must still find the job.
                for other in self._running.values():
                    if other.job_id == entry.job_id:
                        self._by_job[entry.job_id] = other
                        break
        if not self._running:
            self._idle.set()
        if not self._draining:
            self._wake.set()  # a slot is free

    # -- stop requests ---------------------------------------------------------------------

    def _stop_job(self, job_id: str) -> None:
        entry = self._by_job.get(job_id)
        if entry is None:
            return
        # A monitor job has several instances here: its monitor's trigger
        # instances in flight are stopped first, then the monitor itself.
        entries = [e for e in self._running.values() if e.job_id == job_id and e is not entry]
        entries.append(entry)
        for e in entries:
            if "monitor" in e.extra:
                e.extra["monitor"].stop()
        for e in entries:
            if e.actor is not None:
                e.actor.stop()
            e.stop_requested = True

    async def _stop_loop(self) -> None:
        assert self.pool is not None
        while True:
            await self._stops.wait()
            self._stops.clear()
            rows: list[asyncpg.Record] = []
            async with (
                self._tolerate("stop requests", retry=self._stops),
                self.pool.acquire() as conn,
            ):
                rows = await conn.fetch(Q.stop_requests, self.name)
            for (job_id,) in rows:
                if job_id in self._by_job:
                    entry = self._by_job[job_id]
                    if not entry.stop_requested:
                        self._stop_job(job_id)

    # -- periodic work ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _tolerate(self, what: str, retry: asyncio.Event | None = None) -> AsyncIterator[None]:
        """Survive a lost connection: log, back off, and (``retry``) try again later.

        Anything else is a bug and propagates: the TaskGroup stops the server loudly.
        """
        try:
            yield
        except RETRYABLE as exc:
            log.warning("database unavailable", during=what, error=str(exc))
            await asyncio.sleep(min(1.0, self.settings.poll_seconds))
            if retry is not None:
                retry.set()

    async def _poller(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_seconds)
            self._pending_stops.clear()  # ids of other servers' jobs; the query covers ours
            self._wake.set()
            self._orphans.set()
            self._stops.set()
            self._reasons.set()
            self.waiters.poke()
            self.bell.ring_all()

    async def _reasons_loop(self) -> None:
        """Refresh the waiting reasons when asked, at most a fifth of the time.

        The refresh reads every queued job; at capacity with a long queue each
        freed slot asks for one, so after a refresh that took ``t`` the next
        waits ``4 t`` (at least 0.1 s, which also coalesces bursts).
        """
        assert self.pool is not None
        pause = 0.1
        while True:
            await self._reasons.wait()
            await asyncio.sleep(pause)
            self._reasons.clear()
            began = time.monotonic()
            async with self._tolerate("waiting reasons"), self.pool.acquire() as conn:
                if await refresh_gates(conn):
                    self._wake.set()  # a schedule window opened
                await conn.execute(Q.update_waiting_reasons, self.settings.server_timeout_seconds)
                ahead = await conn.fetchval(Q.next_back_off)
                if ahead is not None:
                    self._due(ahead)
            pause = max(0.1, 4 * (time.monotonic() - began))

    def _due(self, seconds: float) -> None:
        """A queued job's back-off ends in ``seconds``: wake the claimer then (the
        earliest such time is kept)."""
        at = time.monotonic() + seconds + _DUE_MARGIN
        if self._due_at is None or at < self._due_at:
            self._due_at = at
            self._due_changed.set()

    async def _due_loop(self) -> None:
        """Wake the claimer when the earliest known back-off ends: a retried job's
        ``not_before`` passes without a notification, and the next heartbeat's
        claim may be a second away (a retry after 0.2 s would start after 1 s)."""
        while True:
            self._due_changed.clear()
            due = self._due_at
            if due is None:
                await self._due_changed.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due_changed.wait(),
                                       max(0.0, due - time.monotonic()))
                continue  # an earlier one came
            if self._due_at == due:
                self._due_at = None
                self._wake.set()

    async def _heartbeat(self) -> None:
        s = self.settings
        while True:
            await _first(asyncio.sleep(s.heartbeat_seconds), self._status_poke.wait())
            self._status_poke.clear()
            await self._beat()

    async def _beat(self) -> None:
        """One heartbeat: refresh the row, obey its status, drop lost instances, mark peers."""
        assert self.pool is not None
        s = self.settings
        entries = list(self._running.values())
        believed = "draining" if self._draining else "maintenance" if self._maintenance else "up"
        # Just back from losing the database: peers may look dead only because
        # they could not reach it either; give them one timeout to check in.
        mark = not self._db_lost and time.monotonic() >= self._mark_after
        try:
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(
                    Q.heartbeat, self.name, self.running_count,
                    [e.instance_id for e in entries], [e.epoch for e in entries],
                    believed, self._push_window(),
                )
                assert row is not None
                status, lost = row["status"], set(row["lost"])
                if status is None:
                    status = await conn.fetchval(
                        Q.register_server, self.name, socket.gethostname(), os.getpid(),
                        s.capacity, self.report.packs)
                await report_packs(conn, self.name, self.report)
                down = await conn.fetch(Q.mark_servers_down, s.server_timeout_seconds) if mark \
                    else []
        except RETRYABLE as exc:
            if not self._db_lost:
                log.warning("database unavailable", during="heartbeat", error=str(exc))
            self._db_lost = True
            return
        if self._db_lost:
            self._db_lost = False
            self._mark_after = time.monotonic() + s.server_timeout_seconds
            log.info("database reachable again", server=self.name)
        for entry in entries:
            if entry.instance_id in lost and self._running.get(entry.instance_id) is entry:
                self._abandon(entry)
        self._apply_status(status)
        # A claim each heartbeat (this server's own, not every server's): what
        # nothing notifies is found within a beat, not a poll — a runbook's
        # max_concurrent_jobs freed on another server, a pack another server
        # lacked. (A back-off's end has its own wake-up: _due_loop.)
        self._wake.set()
        if down:
            log.warning("servers marked down", servers=[r[0] for r in down])
            self._orphans.set()
            self._wake.set()

    def _push_window(self) -> float | None:
        """For how long from this heartbeat starts may push jobs to this server:
        while it accepts them, is 'up' and its listener listens, until a peer
        could mark it down (a job pushed to a dead server waits for that)."""
        s = self.settings
        listening = self.listener is not None and self.listener.connected.is_set()
        if (not s.accept_pushes or not listening or self._draining or self._maintenance
                or self._shutdown.is_set()):
            return None
        return s.server_timeout_seconds

    def _abandon(self, entry: _Running) -> None:
        """Another server owns this instance now: stop running it here, writing nothing."""
        log.warning("instance taken over by another server; stopping it here",
                    instance_id=entry.instance_id, epoch=entry.epoch)
        entry.handing_over = True
        if entry.task is not None:
            entry.task.cancel()

    def _apply_status(self, status: str) -> None:
        """Follow the status an operator set: drain, maintenance on or off."""
        if status == "draining":
            if not self._draining and not self._shutdown.is_set():
                log.info("drain requested", server=self.name)
                self._draining = True
                self._drain_task = self._tg.create_task(self._drain(),
                                                        name=f"{self.name}:drain")
        elif status == "maintenance":
            if not self._maintenance and not self._draining:
                log.info("maintenance on: claiming nothing", server=self.name)
            self._maintenance = True
        elif status == "up" and self._maintenance and not self._draining:
            log.info("maintenance off: claiming again", server=self.name)
            self._maintenance = False
            self._orphans.set()
            self._wake.set()


class PoolTooSmall(OrchError):
    """The pool handed to the runbook server has too few connections for it."""


_SHARED: dict[int, list[tuple[RunbookServer, int]]] = {}
"""The servers running on each shared pool (by ``id``), with the connections each needs."""


def pool_need(settings: Settings) -> int:
    """Connections a server needs of a shared pool: the listener's, the group
    commit's kept ones (``commit_inflight``), one for everything else."""
    return settings.commit_inflight + 2


def _reserve(pool: asyncpg.Pool, server: RunbookServer) -> None:
    """Count this server against ``pool``, or refuse it: servers sharing a pool too
    small for all of them starve each other's claims and commits (nothing fails,
    everything waits)."""
    settings, name = server.settings, server.name
    need = pool_need(settings)
    others = _SHARED.get(id(pool), [])
    total = need + sum(n for _, n in others)
    if pool.get_max_size() < total:
        sharing = (f"; servers already on this pool: {', '.join(o.name for o, _ in others)}"
                   if others else "")
        raise PoolTooSmall(
            f"runbook server {name!r}: the pool it was given has max_size "
            f"{pool.get_max_size()}, it needs {total} (per server: 1 for the listener, "
            f"commit_inflight={settings.commit_inflight} kept by the group commit, 1 for "
            f"claims, heartbeats and reads{sharing}); give it a larger pool, a pool of its "
            "own, or a DSN (it then sizes its own pool)")
    _SHARED[id(pool)] = [*others, (server, need)]


def _job_timer(compiled: Any, plan: InstancePlan, actor: Any) -> asyncio.TimerHandle | None:
    """The runbook's ``job_timeout_seconds``: stop the instance (failed, ``timeout``) then.

    Counted from the instance's start; a resumed instance keeps the time it
    already ran (its first recorded run's start). A monitor runs until stopped.
    """
    limit = compiled.runbook.job_timeout_seconds
    if limit is None or compiled.is_monitor:
        return None
    from datetime import UTC, datetime

    ran = 0.0
    if plan.recorded:
        first = min(r.started_at for r in plan.recorded)
        ran = max(0.0, (datetime.now(UTC) - first).total_seconds())
    loop = asyncio.get_running_loop()
    return loop.call_later(max(0.0, limit - ran), actor.stop, "timeout")


async def _first(*aws: Any) -> None:
    """Wait until the first of ``aws`` completes; cancel the others."""
    tasks = [asyncio.create_task(a, name=f"first-of:{i}") for i, a in enumerate(aws)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
