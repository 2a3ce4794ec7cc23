"""The instance actor: one runbook instance, its activity runs as child tasks.

An :class:`InstanceActor` holds a private compiled copy of the pinned runbook
version and one TaskGroup that owns every task of the instance (activity runs,
link delays). A finished run routes its items over its outgoing links: each
link is evaluated per item and a followed link delivers a trigger — the upstream
run, the item it binds, the bindings of its path — into the target's bounded
inbox (:mod:`actors.mailbox`). A target starts one run per trigger, at most
``max_parallel_runs`` at once; beyond that triggers queue, and beyond the inbox's
capacity the delivering run waits (backpressure).

Bookkeeping is per activity: ``busy`` counts triggers delivered and not yet
done (delayed, queued or running). A junction fires once, when every activity
upstream of it has ``busy == 0`` — the graph being acyclic, nothing more can
arrive — and is dead when nothing arrived. A trigger is counted at its target
before its source run is released, so "all upstream idle" never holds while
work is in flight between them.

Durability: a run's start is recorded (durably for non-rerunnable types) before
the activity begins; its result is recorded before any run it triggers starts.

Stop (:meth:`InstanceActor.stop`): activities being executed are cancelled and
recorded ``stopped``, queued triggers are dropped, nothing new starts, and the
instance ends ``stopped``. Cancelling the task running :meth:`run` instead is a
server going away: nothing more is recorded and another server may resume.

Resume: ``plan.recorded`` holds what an earlier owner recorded. Triggers are
replayed from the start; a trigger whose run was recorded adopts that run
(finished: its data is reused and routed again; in flight: run again under the
same run id when the type is rerunnable, else recorded ``interrupted`` and its
failure links followed). See :mod:`actors.lineage` for how a run's trigger is
recorded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors import lineage as lin
from actors.mailbox import Mailbox, MailboxClosed
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
from orch.document import CompiledActivity, CompiledRunbook, DocumentInvalid, load
from orch.errors import ExpressionError, OrchError
from orch.logging import get_logger
from orch.sdk import (
    Context,
    InstanceInfo,
    Registry,
    convert_inputs,
    error_summary,
    format_time,
    to_items,
)
from orch.sdk.context import ChildJob

log = get_logger("orch.actors")

_FAILED = frozenset({"failed", "interrupted", "stopped"})
_PUBLISHED_STATUS = {
    "success": "success",
    "warning": "warning",
    "failed": "failed",
    "interrupted": "failed",
    "stopped": "failed",
}
INTERRUPTED = "interrupted: server lost"

BeforeRun = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    max_parallel_runs: int = 16
    """Runs of one activity executing at once (fan-out, several triggers)."""
    mailbox_capacity: int = 1024
    """Triggers an activity may have queued before its producers wait."""
    before_run: BeforeRun | None = None
    """Awaited before each run starts, with (activity id, run id): the Runbook
    Tester steps through an instance with it."""


def _fmt(dt: datetime) -> str:
    # RFC 3339 UTC; ``dt`` is always an aware UTC datetime here.
    return dt.isoformat()[:-6] + "Z"


class _Out:
    """An outgoing link, ready to route: target state and the lineage it records."""

    __slots__ = ("delay", "flat_lineage", "index", "lineage", "link", "target")

    def __init__(self, link: Any, target: _Act) -> None:
        self.link = link
        self.index: int = link.index
        self.target = target
        self.delay: float = link.delay_seconds
        self.lineage = lin.encode(lin.Lineage(link=link.index))
        self.flat_lineage = lin.encode(lin.Lineage(link=link.index, flat=True))


class _Act:
    """Per-activity runtime state, with everything a run needs precomputed."""

    __slots__ = (
        "arrivals",
        "busy",
        "durable",
        "fn",
        "id",
        "inbox",
        "input_error",
        "is_junction",
        "limit",
        "literal_inputs",
        "loop_delay",
        "loop_max",
        "name",
        "outgoing",
        "props",
        "resolved",
        "return_data_from",
        "running",
        "separator",
        "timeout",
        "type",
        "until",
        "upstream",
        "watchers",
    )

    def __init__(self, ca: CompiledActivity, options: RuntimeOptions) -> None:
        self.id = ca.id
        self.name = ca.display_name
        self.type = ca.type
        self.fn = ca.type.fn
        self.durable = not ca.type.rerunnable
        self.timeout = ca.timeout_seconds
        self.props = ca.properties
        self.literal_inputs: Any = None
        self.input_error: OrchError | None = None
        if ca.properties.is_literal:
            try:
                self.literal_inputs = convert_inputs(ca.type, ca.properties.literal_value() or {})
            except OrchError as exc:
                self.input_error = exc
        self.is_junction = ca.is_junction
        self.return_data_from = ca.return_data_from
        self.separator = ca.flatten.separator if ca.flatten is not None else None
        self.until = ca.loop_until if ca.loop is not None else ()
        self.loop_delay = ca.loop.delay_seconds if ca.loop is not None else 0.0
        self.loop_max = ca.loop.max_attempts if ca.loop is not None else None
        self.limit = 1 if ca.is_junction else max(1, options.max_parallel_runs)
        self.inbox: Mailbox[_Trigger] = Mailbox(max(1, options.mailbox_capacity))
        self.running = 0
        self.busy = 1 if ca.is_junction else 0  # an unresolved junction may still fire
        self.resolved = False
        self.arrivals: list[tuple[str, _Run, int]] = []
        self.outgoing: tuple[_Out, ...] = ()
        self.upstream: tuple[_Act, ...] = ()
        self.watchers: tuple[_Act, ...] = ()
        """Junctions downstream of this activity (checked when it goes idle)."""


class _Run:
    """A finished run as the routing sees it."""

    __slots__ = (
        "act",
        "attempt",
        "bindings",
        "common",
        "ended",
        "error",
        "items",
        "returned",
        "run_id",
        "sources",
        "status",
    )

    def __init__(
        self,
        act: _Act,
        run_id: str,
        attempt: int,
        status: str,
        items: list[Item],
        common: Item,
        error: str | None,
        bindings: dict[str, Mapping[str, str]],
        ended: datetime,
        returned: dict[str, str] | None,
    ) -> None:
        self.act = act
        self.run_id = run_id
        self.attempt = attempt
        self.status = status
        self.items = items
        self.common = common
        self.error = error
        self.bindings = bindings
        self.ended = ended
        self.returned = returned
        self.sources: list[tuple[_Run, int]] | None = None
        """Junction with ``return_data_from``: the arrival each item republishes."""


class _Trigger:
    """What a followed link delivers: the upstream run and item a new run binds."""

    __slots__ = ("bindings", "item", "lineage", "link", "parent", "prior", "sources")

    def __init__(
        self,
        parent: _Run | None,
        item: int,
        link: int,
        lineage: bytes,
        bindings: dict[str, Mapping[str, str]],
    ) -> None:
        self.parent = parent
        self.item = item
        self.link = link
        self.lineage = lineage
        self.bindings = bindings
        self.prior: list[RecordedRun] | None = None
        self.sources: list[tuple[_Run, int]] | None = None


class _Scope:
    """Values for one run's templates: its path's bindings, then the instance's latest."""

    __slots__ = ("actor", "bindings")

    def __init__(self, actor: InstanceActor, bindings: Mapping[str, Mapping[str, str]]) -> None:
        self.actor = actor
        self.bindings = bindings

    def value(self, activity: str, field: str) -> str:
        item = self.bindings.get(activity)
        if item is None:
            item = self.actor._latest.get(activity)
            if item is None:
                raise ExpressionError(f"activity {activity} has published nothing on this path")
        return item[field]

    def runbook(self, field: str) -> str:
        return self.actor._runbook_data[field]

    def variable(self, name: str) -> str:
        return self.actor._variables[name]


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
    ) -> None:
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
        self._job_id = plan.ref.job_id
        self._instance_id = plan.ref.instance_id
        self._id_prefix = str(uuid.uuid4())[:24]
        self._seq = 0
        self._stopping = False
        self._lost = False
        self._done = False
        self._tg: asyncio.TaskGroup | None = None
        self._cancellable: set[asyncio.Task[Any]] = set()
        self._acts: dict[str, _Act] = {}
        self._latest: dict[str, Mapping[str, str]] = {}
        self._runbook_data: dict[str, str] = {}
        self._variables: dict[str, str] = {}
        self._returned: dict[str, str] = {}
        self._returned_at: dict[str, datetime] = {}
        self._unhandled: list[_Run] = []
        self._warning = False
        self._recorded: dict[tuple[Any, ...], list[RecordedRun]] = {}
        self._by_id: dict[str, _Run] = {}
        self._info: InstanceInfo | None = None
        self.outcome: InstanceOutcome | None = None

    # -- public ----------------------------------------------------------
    @property
    def instance_id(self) -> str:
        return self._instance_id

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Ask the instance to stop: cancel executing activities, start nothing new."""
        if self._stopping or self._done:
            return
        self._stopping = True
        for task in list(self._cancellable):
            task.cancel()
        for act in self._acts.values():
            act.inbox.close()

    async def run(self) -> InstanceOutcome:
        """Run the instance to its end and record its outcome (also returned)."""
        resuming = bool(self.plan.recorded)
        try:
            compiled = self._compiled or load(self.plan.document, self._registry)
        except DocumentInvalid as exc:
            return await self._finish(
                InstanceOutcome(
                    status="failed",
                    returned_data={},
                    ended_at=datetime.now(UTC),
                    error=f"the runbook version is invalid: {exc}",
                ),
                started=not resuming,
            )
        self._setup(compiled)
        if compiled.variables and self._variable_source is not None:
            self._variables.update(await self._variable_source.get_variables(compiled.variables))
        if resuming:
            self._index_recorded(self.plan.recorded)
        elif self._emit is not None:
            self._emit(self._instance_event("running"))
        if not self._stopping:
            start = self._acts[compiled.start]
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await self._deliver(start, _Trigger(None, 0, lin.START_LINK, lin.START, {}), 0.0)
            if self._recorded:
                await self._close_leftovers()
        return await self._finish(self._outcome(), started=False)

    # -- set-up ----------------------------------------------------------
    def _setup(self, compiled: CompiledRunbook) -> None:
        opts = self._options
        acts = {aid: _Act(ca, opts) for aid, ca in compiled.activities.items()}
        watchers: dict[str, list[_Act]] = {aid: [] for aid in acts}
        for aid, ca in compiled.activities.items():
            act = acts[aid]
            act.outgoing = tuple(_Out(link, acts[link.target]) for link in ca.outgoing)
            act.upstream = tuple(acts[u] for u in sorted(ca.upstream))
            if act.is_junction:
                for u in ca.upstream:
                    watchers[u].append(act)
        for aid, js in watchers.items():
            acts[aid].watchers = tuple(js)
        self._acts = acts
        if self._stopping:
            for act in acts.values():
                act.inbox.close()
        plan = self.plan
        self._runbook_data = {
            "JobId": plan.ref.job_id,
            "InstanceId": plan.ref.instance_id,
            "Name": plan.runbook_name or compiled.name,
            "Server": plan.server,
        }
        self._info = InstanceInfo(
            job_id=plan.ref.job_id,
            instance_id=plan.ref.instance_id,
            runbook_id=plan.runbook_id,
            runbook_name=plan.runbook_name or compiled.name,
            runbook_path=plan.runbook_path or compiled.path,
            server=plan.server,
            parameters=plan.parameters,
            variables=self._variables,
            variable_source=self._variable_source,
            returns=frozenset(r.name for r in compiled.returns),
            runbooks=_Children(self._launcher, plan.ref) if self._launcher is not None else None,
        )

    def _new_id(self) -> str:
        self._seq += 1
        return f"{self._id_prefix}{self._seq:012x}"

    # -- delivery ----------------------------------------------------------
    async def _deliver(self, act: _Act, trig: _Trigger, delay: float) -> None:
        """Count the trigger at its target, then hand it over (after the link's delay)."""
        if self._stopping:
            raise MailboxClosed()
        act.busy += 1
        if self._recorded:
            trig.prior = self._recorded.pop(self._key(act, trig), None)
            if trig.prior is not None:
                delay = 0.0  # the delay was waited before the takeover
        if delay > 0:
            assert self._tg is not None
            self._tg.create_task(
                self._delayed(act, trig, delay), name=f"{self._instance_id}/{act.id}/delay"
            )
            return
        await self._enqueue(act, trig)

    async def _delayed(self, act: _Act, trig: _Trigger, delay: float) -> None:
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

    async def _enqueue(self, act: _Act, trig: _Trigger) -> None:
        # Invariant: a non-empty inbox means every run slot of ``act`` is taken.
        while True:
            if act.running < act.limit and not act.inbox:
                self._start(act, trig)
                return
            if act.inbox.try_put(trig):
                return
            await act.inbox.space()

    def _start(self, act: _Act, trig: _Trigger) -> None:
        if self._lost:
            return  # the instance's task is being cancelled: start nothing
        run_id = trig.prior[-1].run_id if trig.prior else self._new_id()
        assert self._tg is not None
        coro = self._run_task(act, trig, run_id)
        try:
            self._tg.create_task(coro, name=f"{self._instance_id}/{act.id}/{run_id}")
        except RuntimeError:  # the TaskGroup is shutting down (cancelled from outside)
            coro.close()
            self._lost = True
            return
        act.running += 1

    def _release(self, act: _Act) -> None:
        act.running -= 1
        if act.inbox and not self._stopping:
            nxt = act.inbox.pop()
            if nxt is not None:
                self._start(act, nxt)
        act.busy -= 1
        if act.busy == 0 and act.watchers:
            self._idle(act)

    def _idle(self, act: _Act) -> None:
        for junction in act.watchers:
            self._check_junction(junction)

    def _check_junction(self, j: _Act) -> None:
        if j.resolved or self._stopping:
            return
        for u in j.upstream:
            if u.busy:
                return
        j.resolved = True
        if not j.arrivals:
            j.busy -= 1  # dead: nothing arrived, nothing will
            if j.watchers:
                self._idle(j)
            return
        _, last_run, last_item = j.arrivals[-1]
        trig = _Trigger(last_run, last_item, lin.JUNCTION_LINK, b"", {})
        sources: list[tuple[_Run, int]] = []
        if j.return_data_from is not None:
            sources = [(r, k) for a, r, k in j.arrivals if a == j.return_data_from]
        trig.sources = sources
        trig.lineage = lin.encode(
            lin.Lineage(
                link=lin.JUNCTION_LINK, sources=[(r.run_id, k) for r, k in sources]
            )
        )
        if self._recorded:
            trig.prior = self._recorded.pop((j.id, lin.JUNCTION_LINK), None)
        self._start(j, trig)

    # -- a run -------------------------------------------------------------
    async def _run_task(self, act: _Act, trig: _Trigger, run_id: str) -> None:
        try:
            run: _Run | None = None
            attempt = 1
            if trig.prior:
                run, attempt = await self._adopt(act, trig)
            while True:
                if run is None:
                    run = await self._attempt(act, trig, run_id, attempt)
                    if run is None:
                        return
                if self._stopping:
                    return
                if act.until and not self._loop_done(act, run):
                    if act.loop_delay > 0:
                        await self._pause(act.loop_delay)
                        if self._stopping:
                            return
                    attempt += 1
                    run_id = self._new_id()
                    run = None
                    continue
                break
            if run.returned:
                self._set_returned(run)
            await self._route(act, run)
        except asyncio.CancelledError:
            if not self._stopping:
                self._lost = True  # cancelled from outside: the server is going away
            raise
        finally:
            self._release(act)

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

    def _loop_done(self, act: _Act, run: _Run) -> bool:
        if act.loop_max is not None and run.attempt >= act.loop_max:
            return True
        for item in run.items or (run.common,):
            for cond in act.until:
                if cond.test(item):
                    return True
        return False

    async def _attempt(self, act: _Act, trig: _Trigger, run_id: str, attempt: int) -> _Run | None:
        """Execute one attempt: record its start, run the activity, record its result."""
        if self._stopping:
            return None
        if self._before_run is not None:
            await self._hook(act, run_id)
            if self._stopping:
                return None
        parent = trig.parent
        started = datetime.now(UTC)
        await self._store.record_run_start(
            self._ref,
            RunStart(
                run_id=run_id,
                activity=act.id,
                parent_run=parent.run_id if parent is not None else None,
                item=trig.item,
                attempt=attempt,
                started_at=started,
                lineage=trig.lineage,
            ),
            durable=act.durable,
        )
        if self._emit is not None:
            self._emit(self._run_event(act, run_id, "running", started))
        ctx: Context | None = None
        items: list[Item] = []
        if self._stopping:
            status, error = "stopped", "stopped"
        else:
            task = asyncio.current_task()
            assert task is not None and self._info is not None
            deadline: asyncio.Timeout | None = None
            try:
                inputs = act.literal_inputs
                if inputs is None:
                    if act.input_error is not None:
                        raise act.input_error
                    inputs = convert_inputs(act.type, act.props.render(_Scope(self, trig.bindings)))
                ctx = Context(
                    self._info,
                    act.id,
                    act.name,
                    run_id,
                    attempt,
                    trig.item,
                    self._arrivals_of(act) if act.is_junction else _no_arrivals,
                )
                self._cancellable.add(task)
                try:
                    if act.timeout is None:
                        out = await act.fn(ctx, inputs)
                    else:
                        deadline = asyncio.timeout(act.timeout)
                        async with deadline:
                            out = await act.fn(ctx, inputs)
                finally:
                    self._cancellable.discard(task)
                items = to_items(out)
                status, error = ctx.status, ctx.message
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                task.uncancel()
                status, error, items = "stopped", "stopped", []
            except Exception as exc:
                status, items = "failed", []
                if deadline is not None and deadline.expired():
                    error = "timeout"
                else:
                    error = error_summary(exc)
        return await self._record(act, trig, run_id, attempt, started, status, error, items, ctx)

    async def _hook(self, act: _Act, run_id: str) -> None:
        assert self._before_run is not None
        task = asyncio.current_task()
        assert task is not None
        self._cancellable.add(task)
        try:
            await self._before_run(act.id, run_id)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task.uncancel()
        finally:
            self._cancellable.discard(task)

    async def _record(
        self,
        act: _Act,
        trig: _Trigger,
        run_id: str,
        attempt: int,
        started: datetime,
        status: str,
        error: str | None,
        items: list[Item],
        ctx: Context | None,
    ) -> _Run:
        ended = datetime.now(UTC)
        common = {
            "Status": _PUBLISHED_STATUS[status],
            "StartTime": _fmt(started),
            "EndTime": _fmt(ended),
            "ErrorSummary": error or "",
            "ActivityName": act.name,
        }
        if items:
            published = [{**item, **common} for item in items]
        elif status in _FAILED:
            published = [common]
        else:
            published = []  # zero items: the path below is dead
        returned = None
        if ctx is not None and status in ("success", "warning"):
            returned = ctx.returned_data
        await self._store.record_run_result(
            self._ref,
            RunResult(
                run_id=run_id,
                activity=act.id,
                status=status,  # type: ignore[arg-type]
                published=published,
                ended_at=ended,
                error=error,
                returned_data=returned,
            ),
        )
        if self._emit is not None:
            self._emit(self._run_event(act, run_id, status, ended, published, error))
        run = _Run(
            act, run_id, attempt, status, published, common, error, trig.bindings, ended, returned
        )
        run.sources = trig.sources
        return run

    def _arrivals_of(self, j: _Act) -> Callable[[str], Sequence[Item]]:
        def arrivals(activity_id: str) -> Sequence[Item]:
            return [r.items[k] for a, r, k in j.arrivals if a == activity_id]

        return arrivals

    # -- routing -----------------------------------------------------------
    async def _route(self, act: _Act, run: _Run) -> None:
        """Follow the run's links per item; account it for the outcome."""
        followed = False
        items = run.items
        try:
            for out in act.outgoing:
                link = out.link
                target = out.target
                if target.is_junction:
                    for k, item in enumerate(items):
                        if link.followed(item):
                            followed = True
                            target.arrivals.append((act.id, run, k))
                    continue
                if target.separator is not None:
                    passing = [item for item in items if link.followed(item)]
                    if passing:
                        followed = True
                        bindings = dict(run.bindings)
                        bindings[act.id] = _join(passing, target.separator)
                        await self._deliver(
                            target,
                            _Trigger(run, 0, out.index, out.flat_lineage, bindings),
                            out.delay,
                        )
                    continue
                for k, item in enumerate(items):
                    if link.followed(item):
                        followed = True
                        await self._deliver(
                            target,
                            _Trigger(run, k, out.index, out.lineage, self._bind(run, k, item)),
                            out.delay,
                        )
        except MailboxClosed:
            pass  # stopping: nothing more starts
        finally:
            self._account(act, run, followed)

    def _bind(self, run: _Run, k: int, item: Item) -> dict[str, Mapping[str, str]]:
        """Bindings of a run triggered by ``item`` (the k-th) of ``run``."""
        sources = run.sources
        if sources and k < len(sources):
            # a junction's item k republishes an arrival: keep that arrival's lineage
            src, sk = sources[k]
            bindings = dict(src.bindings)
            bindings[src.act.id] = src.items[sk]
        else:
            bindings = dict(run.bindings)
        bindings[run.act.id] = item
        return bindings

    def _account(self, act: _Act, run: _Run, followed: bool) -> None:
        status = run.status
        if status in _FAILED:
            if not followed:
                self._unhandled.append(run)
        elif status == "warning":
            self._warning = True
        if run.items:
            self._latest[act.id] = run.items[0]

    def _set_returned(self, run: _Run) -> None:
        assert run.returned is not None
        for name, value in run.returned.items():
            at = self._returned_at.get(name)
            if at is None or run.ended >= at:
                self._returned[name] = value
                self._returned_at[name] = run.ended

    # -- resume ------------------------------------------------------------
    def _index_recorded(self, recorded: Sequence[RecordedRun]) -> None:
        for r in recorded:
            lineage = lin.decode(r.lineage)
            if lineage.link == lin.JUNCTION_LINK:
                key: tuple[Any, ...] = (r.activity, lin.JUNCTION_LINK)
            else:
                key = (r.activity, r.parent_run, lineage.link, r.item)
            self._recorded.setdefault(key, []).append(r)
        for runs in self._recorded.values():
            runs.sort(key=lambda r: r.attempt)

    @staticmethod
    def _key(act: _Act, trig: _Trigger) -> tuple[Any, ...]:
        parent = trig.parent.run_id if trig.parent is not None else None
        return (act.id, parent, trig.link, trig.item)

    async def _adopt(self, act: _Act, trig: _Trigger) -> tuple[_Run | None, int]:
        """Take over the recorded run(s) of a replayed trigger.

        Returns the run to continue from (None: execute attempt ``n`` again,
        under its recorded run id) and its attempt number.
        """
        assert trig.prior
        last = trig.prior[-1]
        if last.status == "running":
            if act.type.rerunnable:
                return None, last.attempt
            return await self._interrupt(act, trig, last), last.attempt
        if trig.link == lin.JUNCTION_LINK:
            trig.sources = self._recorded_sources(last)
        common = _common_of(last, act)
        run = _Run(
            act,
            last.run_id,
            last.attempt,
            last.status,
            list(last.published),
            common,
            last.error,
            trig.bindings,
            last.ended_at or last.started_at,
            last.returned_data,
        )
        run.sources = trig.sources
        self._by_id[run.run_id] = run
        return run, last.attempt

    def _recorded_sources(self, rec: RecordedRun) -> list[tuple[_Run, int]]:
        out: list[tuple[_Run, int]] = []
        for run_id, k in lin.decode(rec.lineage).sources:
            src = self._by_id.get(run_id)
            if src is not None:
                out.append((src, k))
        return out

    async def _interrupt(self, act: _Act, trig: _Trigger, rec: RecordedRun) -> _Run:
        """Record an in-flight non-rerunnable run as interrupted (it must not run twice)."""
        return await self._record(
            act, trig, rec.run_id, rec.attempt, rec.started_at, "interrupted", INTERRUPTED, [], None
        )

    async def _close_leftovers(self) -> None:
        """Recorded in-flight runs the replay never reached: close them as interrupted."""
        for runs in self._recorded.values():
            last = runs[-1]
            act = self._acts.get(last.activity)
            if last.status == "running" and act is not None:
                trig = _Trigger(None, last.item, -3, last.lineage, {})
                await self._record(
                    act, trig, last.run_id, last.attempt, last.started_at,
                    "interrupted", INTERRUPTED, [], None,
                )
        self._recorded.clear()

    # -- the end -------------------------------------------------------------
    def _outcome(self) -> InstanceOutcome:
        ended = datetime.now(UTC)
        if self._stopping:
            return InstanceOutcome(
                status="stopped", returned_data=self._returned, ended_at=ended, error="stopped"
            )
        if self._unhandled:
            first = self._unhandled[0]
            reason = first.error or first.status
            return InstanceOutcome(
                status="failed",
                returned_data=self._returned,
                ended_at=ended,
                error=f"{first.act.id}: {reason}",
            )
        status = "warning" if self._warning else "success"
        return InstanceOutcome(status=status, returned_data=self._returned, ended_at=ended)

    async def _finish(self, outcome: InstanceOutcome, *, started: bool) -> InstanceOutcome:
        if started and self._emit is not None:
            self._emit(self._instance_event("running"))
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
        act: _Act,
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
            activity=act.id,
            run_id=run_id,
            published=published,
            error=error,
        )


def _no_arrivals(activity_id: str) -> Sequence[Item]:
    return ()


def _join(items: list[Item], separator: str) -> dict[str, str]:
    """Flatten: each field joined over the items, in item order."""
    fields: dict[str, None] = {}
    for item in items:
        for name in item:
            fields[name] = None
    return {name: separator.join(item.get(name, "") for item in items) for name in fields}


def _common_of(rec: RecordedRun, act: _Act) -> Item:
    if rec.published:
        first = rec.published[0]
        return {
            name: first.get(name, "")
            for name in ("Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName")
        }
    return {
        "Status": _PUBLISHED_STATUS.get(rec.status, "failed"),
        "StartTime": format_time(rec.started_at),
        "EndTime": format_time(rec.ended_at or rec.started_at),
        "ErrorSummary": rec.error or "",
        "ActivityName": act.name,
    }
