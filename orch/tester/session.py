"""One test run: the runbook in memory, every state change turned into tester events.

A :class:`TestSession` is the same :class:`~actors.instance.InstanceActor` a
runbook server runs, on a :class:`~actors.memory.MemoryStore`: no server, no
database, no job of anyone else touched. The session is the actors' event
sink and their child launcher, so it sees every run of the runbook and of the
children it invokes, and it explains each run's links with the very compiled
conditions the actor routes with (``CompiledLink.followed``/``explain``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from actors.instance import InstanceActor, RuntimeOptions
from actors.memory import MemoryStore, MemoryVariables, runbook_id_for
from actors.resume import common_of
from actors.store import ChildResult, InstanceOutcome, InstanceRef, RecordedRun, RuntimeEvent
from orch.document import CompiledActivity, CompiledRunbook, DocumentInvalid, load, parse_parameters
from orch.errors import DocumentError, NotFound
from orch.sdk import Registry
from orch.sdk.local import MemoryVariables as SdkVariables
from orch.sdk.local import memory_services
from orch.tester.children import ChildResolver
from orch.tester.events import (
    ActivityEnded,
    ActivityStarted,
    ChildEnded,
    ChildStarted,
    Data,
    Event,
    Finished,
    LinkEvaluated,
    LoopEvaluated,
    Skipped,
    Started,
)

if TYPE_CHECKING:
    from orch.tester.step import StepController

Observer = Callable[[Event], None]

EXIT_CODES = {"success": 0, "warning": 2}
"""As ``orch job start --wait``: 0 success, 2 warning, 1 anything else."""


def exit_code(status: str) -> int:
    return EXIT_CODES.get(status, 1)


@dataclass(eq=False)
class InstanceView:
    """What the session knows of one instance (the runbook under test or a child)."""

    compiled: CompiledRunbook
    depth: int
    job_id: str
    instance_id: str
    parameters: dict[str, str]
    actor: InstanceActor | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def path(self) -> str:
        return self.compiled.path


@dataclass(frozen=True, slots=True)
class RunReport:
    outcome: InstanceOutcome
    runs: list[RecordedRun]
    """Every run of the runbook under test, in start order (children's not included)."""
    duration_ms: float
    exit_code: int


class TestSession:
    """Runs one runbook document in memory and reports what happens to ``observer``."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        registry: Registry,
        observer: Observer,
        *,
        resolver: ChildResolver | None = None,
        controller: StepController | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.observer = observer
        self.resolver = resolver or ChildResolver(None)
        self.controller = controller
        self.store = MemoryStore()
        self.variables = MemoryVariables(variables)
        self.services = memory_services(variables=SdkVariables(self.variables.values))
        self.quitting = False
        self.skipped: list[str] = []
        self._views: dict[str, InstanceView] = {}
        self._by_job: dict[str, InstanceView] = {}
        self._started: dict[str, datetime] = {}
        self._compiled: dict[str, CompiledRunbook] = {}
        self._tg: asyncio.TaskGroup | None = None

    # -- running -----------------------------------------------------------------------------

    async def run(
        self,
        compiled: CompiledRunbook,
        document: bytes,
        parameters: dict[str, str],
        *,
        source: str,
        case: str | None = None,
    ) -> RunReport:
        """Run the (valid) runbook with checked ``parameters`` to its end."""
        plan = self.store.add_job(document, parameters)
        view = self._register(compiled, plan.ref, 0, parameters)
        self.observer(
            Started(runbook=compiled.path, source=source, parameters=parameters, case=case)
        )
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with asyncio.TaskGroup() as tg:  # owns the children's instances
            self._tg = tg
            actor = view.actor = self._actor(view, plan)
            outcome = await actor.run()
        duration = (loop.time() - began) * 1000
        runs = self.store.runs_of(plan.ref.instance_id)
        code = exit_code(outcome.status)
        self.observer(
            Finished(
                runbook=compiled.path,
                status=outcome.status,
                returned_data=dict(outcome.returned_data),
                error=outcome.error,
                duration_ms=round(duration, 3),
                runs=len(runs),
                exit_code=code,
                case=case,
                skipped=list(self.skipped),
            )
        )
        return RunReport(outcome=outcome, runs=runs, duration_ms=duration, exit_code=code)

    def _register(
        self, compiled: CompiledRunbook, ref: InstanceRef, depth: int, parameters: dict[str, str]
    ) -> InstanceView:
        view = InstanceView(compiled, depth, ref.job_id, ref.instance_id, parameters)
        self._views[ref.instance_id] = view
        self._by_job[ref.job_id] = view
        return view

    def _actor(self, view: InstanceView, plan: object) -> InstanceActor:
        options = None
        if self.controller is not None:
            options = RuntimeOptions(before_run=functools.partial(self._before_run, view))
        actor = InstanceActor(
            plan,  # type: ignore[arg-type]
            self.store,
            registry=self.registry,
            compiled=view.compiled,
            events=self,
            launcher=self,
            variables=self.variables,
            options=options,
            services=self.services,
        )
        if self.quitting:
            actor.stop()
        return actor

    async def _before_run(self, view: InstanceView, activity: str, run_id: str) -> bool | None:
        assert self.controller is not None
        if self.quitting:
            return False
        answer = await self.controller.before_run(self, view, view.compiled.activities[activity],
                                                  run_id)  # fmt: skip
        if self.quitting and view.actor is not None:
            view.actor.stop()  # this instance at once: it must not end as if it succeeded
        return answer

    def skip(self, view: InstanceView, activity: str, run_id: str) -> None:
        """Note (and report) that a pause's answer skipped this run."""
        if view.depth == 0:
            self.skipped.append(activity)
        self.observer(
            Skipped(runbook=view.path, depth=view.depth, activity=activity, run_id=run_id)
        )

    def quit(self) -> None:
        """Stop every instance (soon, not from inside the caller's own run)."""
        if self.quitting:
            return
        self.quitting = True
        asyncio.get_running_loop().call_soon(self._stop_all)

    def _stop_all(self) -> None:
        for view in self._views.values():
            if view.actor is not None:
                view.actor.stop()

    def data(self, view: InstanceView) -> Data:
        """What each activity of ``view`` published in its latest finished run."""
        latest: dict[str, list[dict[str, str]]] = {}
        for rec in self.store.runs_of(view.instance_id):
            if rec.status != "running":
                latest[rec.activity] = rec.published
        return Data(runbook=view.path, depth=view.depth, parameters=view.parameters,
                    activities=latest)  # fmt: skip

    # -- the EventSink -------------------------------------------------------------------------

    def emit(self, event: RuntimeEvent) -> None:
        view = self._views.get(event.instance_id)
        if view is None:
            return
        if event.kind == "instance":
            if event.status != "running":
                view.done.set()
                if view.depth > 0:
                    outcome = self.store.outcomes.get(event.instance_id)
                    self.observer(
                        ChildEnded(
                            runbook=view.path,
                            depth=view.depth,
                            job_id=view.job_id,
                            status=event.status,
                            returned_data=dict(outcome.returned_data) if outcome else {},
                            error=event.error,
                        )
                    )
            return
        assert event.activity is not None and event.run_id is not None
        act = view.compiled.activities[event.activity]
        rec = self.store.runs[event.instance_id][event.run_id]
        if event.status == "running":
            self._started[event.run_id] = event.at
            parent = (
                self.store.runs[event.instance_id].get(rec.parent_run) if rec.parent_run else None
            )
            self.observer(
                ActivityStarted(
                    runbook=view.path,
                    depth=view.depth,
                    activity=act.id,
                    name=act.display_name,
                    run_id=event.run_id,
                    item=rec.item,
                    attempt=rec.attempt,
                    parent_activity=parent.activity if parent is not None else None,
                    parent_items=(
                        len(parent.published)
                        if parent is not None and act.flatten is None and not act.is_junction
                        else 0
                    ),
                )
            )
            return
        began = self._started.pop(event.run_id, rec.started_at)
        published = list(event.published or [])
        self.observer(
            ActivityEnded(
                runbook=view.path,
                depth=view.depth,
                activity=act.id,
                name=act.display_name,
                run_id=event.run_id,
                status=event.status,
                duration_ms=round((event.at - began).total_seconds() * 1000, 3),
                published=published,
                error=event.error,
                returned_data=rec.returned_data,
            )
        )
        if view.actor is not None and view.actor.stopping:
            return  # stopping: no link is followed
        if act.loop is not None and act.loop_until and self._loop_again(view, act, rec, published):
            return
        for link in act.outgoing:
            for k, item in enumerate(published):
                self.observer(
                    LinkEvaluated(
                        runbook=view.path,
                        depth=view.depth,
                        source=link.source,
                        target=link.target,
                        link_name=link.name,
                        run_id=event.run_id,
                        item=k,
                        followed=link.followed(item),
                        reason=link.explain(item),
                    )
                )

    def _loop_again(
        self, view: InstanceView, act: CompiledActivity, rec: RecordedRun, published: list[dict]
    ) -> bool:
        """Report the loop's decision after an attempt (as the actor takes it); True: again."""
        assert act.loop is not None
        limit = act.loop.max_attempts
        again, reason = True, ""
        if limit is not None and rec.attempt >= limit:
            again, reason = False, f"attempt {rec.attempt} of at most {limit}: the loop ends"
        else:
            for item in published or [common_of(rec, act.display_name)]:
                held = next((c for c in act.loop_until if c.test(item)), None)
                if held is not None:
                    shown = repr(item.get(held.data, ""))
                    again = False
                    reason = f"until {held} holds ({held.data} is {shown}): the loop ends"
                    break
        if again:
            conds = "; ".join(str(c) for c in act.loop_until) or "none"
            reason = f"no until condition holds ({conds}): attempt {rec.attempt + 1} follows"
        self.observer(
            LoopEvaluated(
                runbook=view.path,
                depth=view.depth,
                activity=act.id,
                run_id=rec.run_id,
                attempt=rec.attempt,
                again=again,
                reason=reason,
            )
        )
        return again

    # -- the ChildLauncher ---------------------------------------------------------------------

    async def start_child(
        self, parent: InstanceRef, runbook: str, parameters: dict[str, str]
    ) -> str:
        if self._tg is None:
            raise RuntimeError("children start only while the session runs")
        found = await self.resolver.find(runbook)
        compiled = self._compiled.get(found.key)
        if compiled is None:
            try:
                compiled = load(found.data, self.registry)
            except DocumentInvalid as e:
                raise DocumentError(f"{found.source}: {e.message}", path=e.path) from None
            self._compiled[found.key] = compiled
        params = parse_parameters(compiled, dict(parameters))
        plan = self.store.add_job(
            found.data,
            params,
            runbook_id=runbook_id_for(compiled.path),
            parent_job=parent.job_id,
        )
        depth = self._views[parent.instance_id].depth + 1
        view = self._register(compiled, plan.ref, depth, params)
        view.actor = self._actor(view, plan)
        self.observer(
            ChildStarted(
                runbook=compiled.path,
                depth=depth,
                job_id=plan.ref.job_id,
                source=found.source,
                parameters=params,
            )
        )
        self._tg.create_task(self._run_child(view), name=f"tester/child-job/{plan.ref.job_id}")
        return plan.ref.job_id

    @staticmethod
    async def _run_child(view: InstanceView) -> None:
        assert view.actor is not None
        try:
            await view.actor.run()
        finally:
            view.done.set()

    async def wait_child(self, job_id: str) -> ChildResult:
        view = self._by_job.get(job_id)
        if view is None:
            raise NotFound(f"no child job {job_id}")
        await view.done.wait()
        outcome = self.store.outcomes.get(view.instance_id)
        if outcome is None:
            return ChildResult(job_id=job_id, status="failed", returned_data={})
        return ChildResult(
            job_id=job_id, status=outcome.status, returned_data=dict(outcome.returned_data)
        )

    async def stop_child(self, job_id: str) -> None:
        view = self._by_job.get(job_id)
        if view is not None and view.actor is not None:
            view.actor.stop()
