"""The instance actor: one runbook instance, its activity runs as child tasks.

An :class:`InstanceActor` holds a private compiled copy of the pinned runbook
version and one TaskGroup that owns every task of the instance (activity runs,
link delays). A finished run routes its items over its outgoing links: each
link is evaluated per item and a followed link delivers a trigger — the
upstream run, the item it binds, the bindings of its path — into the target
activity's bounded mailbox. A target starts one run per trigger, at most
``max_parallel_runs`` at once; beyond that triggers queue in its inbox, and
beyond the inbox's capacity the delivering run waits (backpressure).

Bookkeeping is per activity: ``busy`` counts triggers delivered and not yet
done (delayed, queued or running). A junction fires once, when every activity
upstream of it has ``busy == 0`` — the graph being acyclic, nothing more can
arrive — and is dead when nothing arrived. A trigger is counted at its target
before its source run is released, so "all upstream idle" never holds while
work is in flight between them.

Durability: a run's start is recorded (durably for non-rerunnable types)
before the activity begins; its result is recorded before any run it
triggers starts. The instance's last run (nothing else delivered, queued or
running, no links out) has its result recorded together with the outcome:
one commit fewer per instance on the PostgreSQL store.

Stop (:meth:`InstanceActor.stop`): activities being executed are cancelled and
recorded ``stopped``, queued triggers are dropped, nothing new starts, and the
instance ends ``stopped``. Cancelling the task running :meth:`run` instead is
a server going away: nothing more is recorded and another server may resume.

Resume: ``plan.recorded`` holds what an earlier owner recorded. Triggers are
replayed from the start; a trigger whose run was recorded adopts that run
(finished: its data is reused and routed again; in flight: run again under the
same run id when the type is rerunnable, else recorded ``interrupted`` and its
failure links followed). See :mod:`actors.lineage` and :mod:`actors.resume`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors import lineage as lin
from actors.blueprint import ActivitySpec, Blueprint, blueprint_for
from actors.mailbox import Mailbox, MailboxClosed
from actors.resume import INTERRUPTED, PUBLISHED_STATUS, common_of, index_recorded, trigger_key
from actors.runs import (
    ActivityState,
    Bindings,
    InstanceData,
    Run,
    RunScope,
    Trigger,
    bind,
    fmt_time,
    join_items,
    order_key,
    run_order,
)
from actors.store import (
    ChildLauncher,
    EventSink,
    InstanceOutcome,
    InstancePlan,
    InstanceRef,
    Item,
    NullEventSink,
    RecordedRun,
    RunResult,
    RunStart,
    RuntimeEvent,
    Store,
    VariableSource,
)
from orch.document import CompiledRunbook, DocumentInvalid, load
from orch.sdk import Context, InstanceInfo, Registry, convert_inputs, error_summary, to_items
from orch.sdk.context import ChildJob, LogSink
from orch.sdk.services import Services, TriggerSink

_FAILED = frozenset({"failed", "interrupted", "stopped"})

BeforeRun = Callable[[str, str], Awaitable[bool | None]]
_Slot = list[tuple[ActivityState, Trigger, str]]
"""A routing run's hand-off: the first run it starts, which its own task runs next."""

# Run ids: a random prefix drawn once per process and a counter, so ids are
# unique across processes (74 random bits) and, within a server, increasing
# (the activity_runs primary key grows at its right edge), and a new run costs
# no call to os.urandom.
_RUN_ID_PREFIX = str(uuid.uuid4())[:24]
_run_numbers = itertools.count(1)


def _new_run_id_prefix() -> None:
    """A forked child draws its own prefix (it would repeat its parent's ids)."""
    global _RUN_ID_PREFIX
    _RUN_ID_PREFIX = str(uuid.uuid4())[:24]


os.register_at_fork(after_in_child=_new_run_id_prefix)


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    max_parallel_runs: int = 16
    """Runs of one activity executing at once (fan-out, several triggers)."""
    mailbox_capacity: int = 1024
    """Triggers an activity may have queued before the runs delivering to it wait."""
    before_run: BeforeRun | None = None
    """Awaited before each run starts, with (activity id, run id): the Runbook
    Tester steps through an instance with it. Returning ``False`` skips the
    run: nothing is recorded and the path below it is dead."""
    on_run_end: Callable[[str, float], None] | None = None
    """Called with (activity type, seconds from start to result) as each run
    that executed ends: the runbook server's metrics."""


class _Children:
    """The SDK's RunbookLauncher over the store's ChildLauncher, for one parent instance."""

    __slots__ = ("launcher", "parent")

    def __init__(self, launcher: ChildLauncher, parent: InstanceRef) -> None:
        self.launcher = launcher
        self.parent = parent

    async def start(self, runbook: str, parameters: dict[str, str]) -> str:
        return await self.launcher.start_child(self.parent, runbook, parameters)

    async def wait(self, job_id: str) -> ChildJob:
        return await self.launcher.wait_child(job_id)

    async def stop(self, job_id: str) -> None:
        await self.launcher.stop_child(job_id)


def _no_arrivals(activity_id: str) -> Sequence[Item]:
    return ()


def _arrival_key(arrival: tuple[str, Run, int]) -> tuple[tuple[int, ...], int]:
    _, run, k = arrival
    return order_key(run), k


def _first_error(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        return exc
    return group


class InstanceActor:
    """Runs (or resumes) one instance of a runbook; see the module docstring."""

    def __init__(
        self,
        plan: InstancePlan,
        store: Store,
        *,
        registry: Registry,
        compiled: CompiledRunbook | None = None,
        events: EventSink | None = None,
        launcher: ChildLauncher | None = None,
        variables: VariableSource | None = None,
        options: RuntimeOptions | None = None,
        start_data: list[Item] | None = None,
        services: Services | None = None,
        triggers: TriggerSink | None = None,
        log_sink: LogSink | None = None,
    ) -> None:
        """``start_data``: published items of the starting activity, given instead
        of running it — a monitor's trigger starting an instance of the rest of
        its runbook. The start run is recorded with them as a successful run.
        ``services``: what ``ctx.services`` offers (counters, variables…);
        ``triggers``: where a monitor starting this runbook sends its triggers;
        ``log_sink``: where ``ctx.write_log`` lines go (the instance log)."""
        self.plan = plan
        self._ref = plan.ref
        self._store = store
        self._registry = registry
        self._compiled = compiled
        sink = events if events is not None else NullEventSink()
        self._emit = None if isinstance(sink, NullEventSink) else sink.emit
        self._launcher = launcher
        self._variable_source = variables
        self._options = options or RuntimeOptions()
        self._before_run = self._options.before_run
        self._on_run_end = self._options.on_run_end
        self._start_data = start_data
        self._services = services
        self._triggers = triggers
        self._log_sink = log_sink
        self._job_id = plan.ref.job_id
        self._instance_id = plan.ref.instance_id
        self._stopping = False
        self._stop_reason = "stopped"
        self._lost = False
        self._done = False
        self._tg: asyncio.TaskGroup | None = None
        self._cancellable: set[asyncio.Task[Any]] = set()
        self._acts: list[ActivityState] = []
        self._info: InstanceInfo | None = None
        self._returned: dict[str, str] = {}
        self._returned_at: dict[str, datetime] = {}
        self._unhandled: list[Run] = []
        self._warning = False
        self._recorded: dict[tuple[Any, ...], list[RecordedRun]] = {}
        self._by_id: dict[str, Run] = {}
        self._data = InstanceData()
        """What templates read besides a run's bindings (see :class:`RunScope`)."""
        self._collect: frozenset[str] = frozenset()
        """Activities whose final runs are kept: referenced past a junction."""
        self.latest: dict[str, Mapping[str, str]] = self._data.latest
        self.runbook_data: dict[str, str] = self._data.runbook_data
        self.variables: dict[str, str] = self._data.variables
        self.outcome: InstanceOutcome | None = None
        self._busy_total = 0
        """The sum of every activity's ``busy``: 1 while one run is all that is left."""
        self._final: InstanceOutcome | None = None
        """The outcome, when it was recorded with the last run's result."""

    # -- public ----------------------------------------------------------
    @property
    def instance_id(self) -> str:
        return self._instance_id

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self, reason: str = "stopped") -> None:
        """Ask the instance to stop: cancel executing activities, start nothing new.

        ``reason`` ``"timeout"`` (the runbook's ``job_timeout_seconds``) ends
        the instance ``failed`` with error ``timeout`` instead of ``stopped``.
        """
        if self._stopping or self._done:
            return
        self._stopping = True
        self._stop_reason = reason
        try:
            caller = asyncio.current_task()
        except RuntimeError:  # no running loop
            caller = None
        for task in list(self._cancellable):
            # Not the caller's own task (a stop asked from inside a run, e.g. by
            # a before-run hook): it sees ``stopping`` when it returns, while a
            # cancel would hit its next await — possibly the instance's own.
            if task is not caller:
                task.cancel()
        for act in self._acts:
            if act.inbox is not None:
                act.inbox.close()

    async def run(self) -> InstanceOutcome:
        """Run the instance to its end and record its outcome (also returned)."""
        resuming = bool(self.plan.recorded)
        try:
            compiled = self._compiled or load(self.plan.document, self._registry)
        except DocumentInvalid as exc:
            outcome = InstanceOutcome(
                status="failed",
                returned_data={},
                ended_at=datetime.now(UTC),
                error=f"the runbook version is invalid: {exc}",
            )
            if not resuming and self._emit is not None:
                self._emit(self._instance_event("running"))
            return await self._finish(outcome)
        bp = blueprint_for(compiled)
        self._setup(bp)
        if compiled.variables and self._variable_source is not None:
            self.variables.update(await self._variable_source.get_variables(compiled.variables))
        if resuming:
            self._recorded = index_recorded(self.plan.recorded)
        elif self._emit is not None:
            self._emit(self._instance_event("running"))
        if not self._stopping:
            try:
                async with asyncio.TaskGroup() as tg:
                    self._tg = tg
                    start = Trigger(None, 0, lin.START_LINK, lin.START, {})
                    slot: _Slot = []
                    await self._deliver(self._acts[bp.start], start, 0.0, slot)
                    if slot:
                        # The first run in this very task (pickup latency: no
                        # task to create, no trip through the event loop).
                        await self._run_here(*slot.pop())
            except BaseExceptionGroup as group:
                # A store write failed (or a bug): raise that error itself, so the
                # server can tell a lost ownership from a crash.
                raise _first_error(group) from group
        if self._recorded:
            # Also when stopped before the replay began (a stop asked while the
            # instance had no owner): runs in flight at the takeover are closed.
            await self._close_leftovers()
        return await self._finish(self._outcome())

    # -- set-up ----------------------------------------------------------
    def _setup(self, bp: Blueprint) -> None:
        limit = max(1, self._options.max_parallel_runs)
        self._acts = [ActivityState(spec, limit) for spec in bp.specs]
        self._busy_total = sum(act.busy for act in self._acts)
        plan = self.plan
        name = plan.runbook_name or bp.compiled.name
        self.runbook_data.update(
            JobId=plan.ref.job_id,
            InstanceId=plan.ref.instance_id,
            Name=name,
            Server=plan.server,
        )
        self._collect = bp.collect
        launcher = self._launcher
        self._info = InstanceInfo(
            job_id=plan.ref.job_id,
            instance_id=plan.ref.instance_id,
            runbook_id=plan.runbook_id,
            runbook_name=name,
            runbook_path=plan.runbook_path or bp.compiled.path,
            server=plan.server,
            parameters=plan.parameters,
            variables=self.variables,
            variable_source=self._variable_source,
            returns=bp.returns,
            runbooks=_Children(launcher, plan.ref) if launcher is not None else None,
            services=self._services,
            triggers=self._triggers,
            log_sink=self._log_sink,
        )

    @staticmethod
    def _new_id() -> str:
        return f"{_RUN_ID_PREFIX}{next(_run_numbers):012x}"

    # -- delivery ----------------------------------------------------------
    async def _deliver(
        self, act: ActivityState, trig: Trigger, delay: float, slot: _Slot | None = None
    ) -> None:
        """Count the trigger at its target, then hand it over (after the link's delay).

        ``slot``: the routing run's hand-off (see :meth:`_start`)."""
        if self._stopping:
            raise MailboxClosed()
        act.busy += 1
        self._busy_total += 1
        if self._recorded:
            parent = trig.parent.run_id if trig.parent is not None else None
            key = trigger_key(act.spec.id, parent, trig.link, trig.item)
            trig.prior = self._recorded.pop(key, None)
            if trig.prior is not None:
                delay = 0.0  # the delay was waited before the takeover
        if delay > 0:
            assert self._tg is not None
            self._tg.create_task(
                self._delayed(act, trig, delay), name=f"{self._instance_id}/{act.spec.id}/delay"
            )
            return
        await self._enqueue(act, trig, slot)

    async def _delayed(self, act: ActivityState, trig: Trigger, delay: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._cancellable.add(task)
        try:
            await asyncio.sleep(delay)
            await self._enqueue(act, trig)
        except (asyncio.CancelledError, MailboxClosed):
            if not self._stopping:
                raise
        finally:
            self._cancellable.discard(task)

    async def _enqueue(
        self, act: ActivityState, trig: Trigger, slot: _Slot | None = None
    ) -> None:
        # Invariant: a non-empty inbox means every run slot of ``act`` is taken.
        while True:
            inbox = act.inbox
            if act.running < act.limit and not inbox:
                self._start(act, trig, slot)
                return
            if self._stopping:
                raise MailboxClosed()
            if inbox is None:
                inbox = act.inbox = Mailbox(max(1, self._options.mailbox_capacity))
            if inbox.try_put(trig):
                return
            if slot:
                # About to wait for room: the run handed off to this task must
                # not wait with it (it may be the one that makes room).
                handed, handed_trig, run_id = slot.pop()
                handed.running -= 1
                self._spawn(handed, handed_trig, run_id)
            await inbox.space()

    def _start(self, act: ActivityState, trig: Trigger, slot: _Slot | None = None) -> None:
        """Start a run: in a task of its own, or — the first run a routing run
        starts (``slot`` empty) — in the routing run's task once it is done
        (a chain step costs no task creation and no trip through the loop)."""
        if self._lost:
            return  # the instance's task is being cancelled: start nothing
        run_id = trig.prior[-1].run_id if trig.prior else self._new_id()
        if slot is not None and not slot:
            slot.append((act, trig, run_id))
            act.running += 1
            return
        self._spawn(act, trig, run_id)

    def _spawn(self, act: ActivityState, trig: Trigger, run_id: str) -> None:
        """The run in a task of its own."""
        assert self._tg is not None
        coro = self._run_task(act, trig, run_id)
        try:
            self._tg.create_task(coro, name=f"{self._instance_id}/{act.spec.id}/{run_id}")
        except RuntimeError:  # the TaskGroup is shutting down (cancelled from outside)
            coro.close()
            self._lost = True
            return
        act.running += 1

    def _release(self, act: ActivityState) -> None:
        act.running -= 1
        if act.inbox and not self._stopping:
            nxt = act.inbox.pop()
            if nxt is not None:
                self._start(act, nxt)
        act.busy -= 1
        self._busy_total -= 1
        if act.busy == 0 and act.spec.watchers:
            self._idle(act)

    def _idle(self, act: ActivityState) -> None:
        for j in act.spec.watchers:
            self._check_junction(self._acts[j])

    def _check_junction(self, j: ActivityState) -> None:
        if j.resolved or self._stopping:
            return
        acts = self._acts
        for u in j.spec.upstream:
            if acts[u].busy:
                return
        j.resolved = True
        arrivals = j.arrivals
        assert arrivals is not None
        if not arrivals:
            j.busy -= 1  # dead: nothing arrived, nothing will
            self._busy_total -= 1
            if j.spec.watchers:
                self._idle(j)
            return
        # Item order, not arrival order: what the junction republishes (and
        # ctx.arrivals) is the same whatever order the branches' runs ended in.
        arrivals.sort(key=_arrival_key)
        _, last_run, last_item = arrivals[-1]
        source = j.spec.return_data_from
        sources = [(r, k) for a, r, k in arrivals if a == source] if source is not None else []
        lineage = lin.Lineage(link=lin.JUNCTION_LINK, sources=[(r.run_id, k) for r, k in sources])
        trig = Trigger(last_run, last_item, lin.JUNCTION_LINK, lin.encode(lineage), {})
        trig.sources = sources
        if self._recorded:
            key = trigger_key(j.spec.id, None, lin.JUNCTION_LINK, 0)
            trig.prior = self._recorded.pop(key, None)
        self._start(j, trig)

    # -- a run -------------------------------------------------------------
    async def _run_here(self, act: ActivityState, trig: Trigger, run_id: str) -> None:
        """Run (and whatever it hands itself) in the calling task, named as a run task
        meanwhile; a stop cancels the activity being executed, never more."""
        task = asyncio.current_task()
        assert task is not None
        name = task.get_name()
        task.set_name(f"{self._instance_id}/{act.spec.id}/{run_id}")
        try:
            await self._run_task(act, trig, run_id)
        finally:
            task.set_name(name)

    async def _run_task(self, act: ActivityState, trig: Trigger, run_id: str) -> None:
        """A run task: its run, then the run it handed itself (chains), and so on."""
        task = asyncio.current_task()
        assert task is not None
        while True:
            nxt = await self._run_one(act, trig, run_id, task)
            if nxt is None:
                return
            act, trig, run_id = nxt
            task.set_name(f"{self._instance_id}/{act.spec.id}/{run_id}")

    async def _run_one(
        self, act: ActivityState, trig: Trigger, run_id: str, task: asyncio.Task[Any]
    ) -> tuple[ActivityState, Trigger, str] | None:
        """One run (all its loop attempts) and its routing; returns the hand-off, if any."""
        spec = act.spec
        slot: _Slot = []
        try:
            run: Run | None = None
            attempt = 1
            if trig.prior:
                run, attempt = await self._adopt(spec, trig)
            while True:
                if run is None:
                    run = await self._attempt(spec, trig, run_id, attempt, task)
                    if run is None:
                        return
                if self._stopping or self._final is not None:
                    return  # stopped, or the instance ended with this run
                if spec.loops and not self._loop_done(spec, run):
                    if spec.loop_delay > 0:
                        await self._pause(spec.loop_delay)
                        if self._stopping:
                            return
                    attempt += 1
                    run_id = self._new_id()
                    run = None
                    continue
                break
            if run.returned:
                self._set_returned(run)
            await self._route(spec, run, slot)
        except asyncio.CancelledError:
            if not self._stopping:
                self._lost = True  # cancelled from outside: the server is going away
            raise
        finally:
            self._release(act)
        return slot[0] if slot else None

    async def _pause(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._cancellable.add(task)
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task.uncancel()
        finally:
            self._cancellable.discard(task)

    @staticmethod
    def _loop_done(spec: ActivitySpec, run: Run) -> bool:
        if spec.loop_max is not None and run.attempt >= spec.loop_max:
            return True
        for item in run.items or (run.common,):
            for cond in spec.until:
                if cond.test(item):
                    return True
        return False

    async def _attempt(
        self, spec: ActivitySpec, trig: Trigger, run_id: str, attempt: int,
        task: asyncio.Task[Any],
    ) -> Run | None:
        """Execute one attempt: record its start, run the activity, record its result.

        ``task``: the run task executing it (cancelled by a stop)."""
        if self._stopping:
            return None
        if self._before_run is not None and (
            await self._hook(spec, run_id) is False or self._stopping
        ):
            return None
        parent = trig.parent
        started = datetime.now(UTC)
        await self._store.record_run_start(
            self._ref,
            RunStart(
                run_id=run_id,
                activity=spec.id,
                parent_run=parent.run_id if parent is not None else None,
                item=trig.item,
                attempt=attempt,
                started_at=started,
                lineage=trig.lineage,
            ),
            durable=spec.durable,
        )
        if self._emit is not None:
            self._emit(self._run_event(spec.id, run_id, "running", started))
        ctx: Context | None = None
        items: list[Item] = []
        if self._stopping:
            status, error = "stopped", self._stop_reason
        elif trig.link == lin.START_LINK and self._start_data is not None:
            status, error, items = "success", None, [dict(i) for i in self._start_data]
        else:
            assert self._info is not None
            deadline: asyncio.Timeout | None = None
            try:
                inputs = spec.literal_inputs
                if inputs is None:
                    if spec.input_error is not None:
                        raise spec.input_error
                    rendered = spec.props.render(RunScope(self._data, trig.bindings, spec))
                    inputs = convert_inputs(spec.type, rendered)
                ctx = Context(
                    self._info,
                    spec.id,
                    spec.name,
                    run_id,
                    attempt,
                    trig.item,
                    self._arrivals_of(spec.position) if spec.is_junction else _no_arrivals,
                )
                self._cancellable.add(task)
                try:
                    if spec.timeout is None:
                        out = await spec.fn(ctx, inputs)
                    else:
                        deadline = asyncio.timeout(spec.timeout)
                        async with deadline:
                            out = await spec.fn(ctx, inputs)
                finally:
                    self._cancellable.discard(task)
                items = to_items(out)
                status, error = ctx.status, ctx.message
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                task.uncancel()
                status, error, items = "stopped", self._stop_reason, []
            except Exception as exc:
                status, items = "failed", []
                if deadline is not None and deadline.expired():
                    error = "timeout"
                else:
                    error = error_summary(exc)
        returned = None
        if ctx is not None and status in ("success", "warning"):
            returned = ctx.returned_data
        run = await self._record(
            spec, trig, run_id, attempt, started, status, error, items, returned
        )
        if self._on_run_end is not None:
            self._on_run_end(spec.type.qualified_name, (run.ended - started).total_seconds())
        return run

    async def _hook(self, spec: ActivitySpec, run_id: str) -> bool | None:
        assert self._before_run is not None
        task = asyncio.current_task()
        assert task is not None
        self._cancellable.add(task)
        try:
            return await self._before_run(spec.id, run_id)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task.uncancel()
            return None
        finally:
            self._cancellable.discard(task)

    async def _record(
        self,
        spec: ActivitySpec,
        trig: Trigger,
        run_id: str,
        attempt: int,
        started: datetime,
        status: str,
        error: str | None,
        items: list[Item],
        returned: dict[str, str] | None,
    ) -> Run:
        ended = datetime.now(UTC)
        common = {
            "Status": PUBLISHED_STATUS[status],
            "StartTime": fmt_time(started),
            "EndTime": fmt_time(ended),
            "ErrorSummary": error or "",
            "ActivityName": spec.name,
        }
        if items:
            published = [{**item, **common} for item in items]
        elif status in _FAILED:
            published = [common]
        else:
            published = []  # zero items: the path below is dead
        result = RunResult(
            run_id=run_id,
            activity=spec.id,
            status=status,  # type: ignore[arg-type]
            published=published,
            ended_at=ended,
            error=error,
            returned_data=returned,
        )
        run = Run(
            spec.id,
            run_id,
            attempt,
            status,
            published,
            common,
            error,
            trig.bindings,
            ended,
            returned,
            trig.sources,
            run_order(trig) if spec.keyed else (),
        )
        if self._ends_with(spec):
            # Nothing else is running or can start: the instance ends with
            # this run, so its result and the outcome are one commit.
            if returned:
                self._set_returned(run)
            self._account(run, False)
            outcome = self._outcome()
            await self._store.record_final_result(self._ref, result, outcome)
            self._final = outcome
        else:
            await self._store.record_run_result(self._ref, result)
        if self._emit is not None:
            self._emit(self._run_event(spec.id, run_id, status, ended, published, error))
        return run

    def _ends_with(self, spec: ActivitySpec) -> bool:
        """Whether a run of ``spec`` finishing now is the instance's last: it has
        no links out and no junction waits on it, it is not looping, and no
        other trigger is delivered, queued or running (nor any leftover of a
        takeover to close)."""
        return (
            self._busy_total == 1
            and not spec.outgoing
            and not spec.watchers
            and not spec.loops
            and not self._stopping
            and not self._recorded
        )

    def _arrivals_of(self, position: int) -> Callable[[str], Sequence[Item]]:
        arrived = self._acts[position].arrivals or []

        def arrivals(activity_id: str) -> Sequence[Item]:
            return [r.items[k] for a, r, k in arrived if a == activity_id]

        return arrivals

    # -- routing -----------------------------------------------------------
    async def _route(self, spec: ActivitySpec, run: Run, slot: _Slot | None = None) -> None:
        """Follow the run's links per item; account it for the outcome."""
        followed = False
        items = run.items
        acts = self._acts
        try:
            for out in spec.outgoing:
                followed_by = out.link.followed
                target = acts[out.target]
                tspec = target.spec
                if tspec.is_junction:
                    arrivals = target.arrivals
                    assert arrivals is not None
                    for k, item in enumerate(items):
                        if followed_by(item):
                            followed = True
                            arrivals.append((spec.id, run, k))
                    continue
                if tspec.separator is not None:
                    passing = [item for item in items if followed_by(item)]
                    if passing:
                        followed = True
                        bindings: Bindings = dict(run.bindings)
                        bindings[spec.id] = join_items(passing, tspec.separator)
                        trig = Trigger(run, 0, out.index, out.flat_lineage, bindings)
                        await self._deliver(target, trig, out.delay, slot)
                    continue
                for k, item in enumerate(items):
                    if followed_by(item):
                        followed = True
                        trig = Trigger(run, k, out.index, out.lineage, bind(run, k, item))
                        await self._deliver(target, trig, out.delay, slot)
        except MailboxClosed:
            pass  # stopping: nothing more starts
        finally:
            self._account(run, followed)

    def _account(self, run: Run, followed: bool) -> None:
        status = run.status
        if status in _FAILED:
            if not followed:
                self._unhandled.append(run)
        elif status == "warning":
            self._warning = True
        if run.items:
            self.latest[run.activity] = run.items[0]
        if self._collect and run.activity in self._collect:
            self._data.finals.setdefault(run.activity, []).append(run)

    def _set_returned(self, run: Run) -> None:
        assert run.returned is not None
        for name, value in run.returned.items():
            at = self._returned_at.get(name)
            if at is None or run.ended >= at:
                self._returned[name] = value
                self._returned_at[name] = run.ended

    # -- resume ------------------------------------------------------------
    async def _adopt(self, spec: ActivitySpec, trig: Trigger) -> tuple[Run | None, int]:
        """Take over the recorded run(s) of a replayed trigger.

        Returns the run to continue from (None: execute attempt ``n`` again,
        under its recorded run id) and its attempt number.
        """
        assert trig.prior
        last = trig.prior[-1]
        if last.status == "running":
            if spec.type.rerunnable:
                return None, last.attempt
            run = await self._record(
                spec, trig, last.run_id, last.attempt, last.started_at,
                "interrupted", INTERRUPTED, [], None,
            )  # fmt: skip
            return run, last.attempt
        if trig.link == lin.JUNCTION_LINK:
            trig.sources = self._recorded_sources(last)
        run = Run(
            spec.id,
            last.run_id,
            last.attempt,
            last.status,
            list(last.published),
            common_of(last, spec.name),
            last.error,
            trig.bindings,
            last.ended_at or last.started_at,
            last.returned_data,
            trig.sources,
            run_order(trig) if spec.keyed else (),
        )
        self._by_id[run.run_id] = run
        return run, last.attempt

    def _recorded_sources(self, rec: RecordedRun) -> list[tuple[Run, int]]:
        out: list[tuple[Run, int]] = []
        for run_id, k in lin.decode(rec.lineage).sources:
            src = self._by_id.get(run_id)
            if src is not None:
                out.append((src, k))
        return out

    async def _close_leftovers(self) -> None:
        """Recorded in-flight runs the replay never reached: close them as interrupted."""
        specs = {act.spec.id: act.spec for act in self._acts}
        for runs in self._recorded.values():
            last = runs[-1]
            spec = specs.get(last.activity)
            if last.status == "running" and spec is not None:
                trig = Trigger(None, last.item, -3, last.lineage, {})
                await self._record(
                    spec, trig, last.run_id, last.attempt, last.started_at,
                    "interrupted", INTERRUPTED, [], None,
                )  # fmt: skip
        self._recorded.clear()

    # -- the end -------------------------------------------------------------
    def _outcome(self) -> InstanceOutcome:
        ended = datetime.now(UTC)
        if self._stopping:
            return InstanceOutcome(
                status="failed" if self._stop_reason == "timeout" else "stopped",
                returned_data=self._returned, ended_at=ended, error=self._stop_reason,
            )
        if self._unhandled:
            first = self._unhandled[0]
            return InstanceOutcome(
                status="failed",
                returned_data=self._returned,
                ended_at=ended,
                error=f"{first.activity}: {first.error or first.status}",
            )
        status = "warning" if self._warning else "success"
        return InstanceOutcome(status=status, returned_data=self._returned, ended_at=ended)

    async def _finish(self, outcome: InstanceOutcome) -> InstanceOutcome:
        if self._final is not None:
            outcome = self._final  # recorded with the last run's result
        else:
            await self._store.record_instance_outcome(self._ref, outcome)
        self._done = True
        self.outcome = outcome
        if self._emit is not None:
            self._emit(
                RuntimeEvent(
                    kind="instance",
                    job_id=self._job_id,
                    instance_id=self._instance_id,
                    status=outcome.status,
                    at=outcome.ended_at,
                    error=outcome.error,
                )
            )
        return outcome

    # -- events --------------------------------------------------------------
    def _instance_event(self, status: str) -> RuntimeEvent:
        return RuntimeEvent(
            kind="instance",
            job_id=self._job_id,
            instance_id=self._instance_id,
            status=status,
            at=datetime.now(UTC),
        )

    def _run_event(
        self,
        activity: str,
        run_id: str,
        status: str,
        at: datetime,
        published: list[Item] | None = None,
        error: str | None = None,
    ) -> RuntimeEvent:
        return RuntimeEvent(
            kind="activity",
            job_id=self._job_id,
            instance_id=self._instance_id,
            status=status,
            at=at,
            activity=activity,
            run_id=run_id,
            published=published,
            error=error,
        )
