"""Everything in memory: the store, variables and child runbooks of a local run.

Used by the unit tests and by the Runbook Tester (``orch test``): the same
instance actor as on a runbook server, with dicts instead of PostgreSQL.
:func:`run_local` runs one runbook document to its end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

import msgspec

from actors.instance import InstanceActor, RuntimeOptions
from actors.store import (
    ChildResult,
    EventSink,
    InstanceOutcome,
    InstancePlan,
    InstanceRef,
    RecordedRun,
    RunResult,
    RunStart,
    StaleOwner,
)
from orch.document import CompiledRunbook, Runbook, decode_document, load, parse_parameters
from orch.errors import NotFound
from orch.sdk import Registry, default_registry
from orch.sdk.local import MemoryVariables as SdkVariables
from orch.sdk.local import memory_services
from orch.sdk.services import Services

Document = bytes | str | Mapping[str, Any] | Runbook
JobStatus = Literal["queued", "running", "success", "warning", "failed", "stopped"]


def runbook_id_for(path: str) -> str:
    """A stable id for a runbook known only by its path (local runs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"orch:runbook:{path}"))


def document_bytes(document: Document) -> bytes:
    if isinstance(document, bytes):
        return document
    if isinstance(document, str):
        return document.encode()
    return msgspec.json.encode(document)


class MemoryJob(msgspec.Struct, kw_only=True):
    id: str
    runbook_id: str
    runbook_path: str
    parameters: dict[str, str]
    status: JobStatus = "queued"
    returned_data: dict[str, str] = {}
    instance_ids: list[str] = []
    parent_job: str | None = None
    error: str | None = None


class MemoryStore:
    """A :class:`~actors.store.Store` in dicts (writes are "durable" at once).

    ``writes`` logs every write in order — ``("start", run_id)``,
    ``("result", run_id)``, ``("outcome", instance_id)`` — so tests can check
    what was recorded before what.
    """

    def __init__(self) -> None:
        self.jobs: dict[str, MemoryJob] = {}
        self.plans: dict[str, InstancePlan] = {}
        self.runs: dict[str, dict[str, RecordedRun]] = {}
        self.outcomes: dict[str, InstanceOutcome] = {}
        self.durable_starts: set[str] = set()
        self.writes: list[tuple[str, str]] = []

    # -- jobs and instances --------------------------------------------------
    def add_job(
        self,
        document: Document,
        parameters: Mapping[str, str] | None = None,
        *,
        runbook_id: str | None = None,
        server: str = "local",
        parent_job: str | None = None,
        version: int = 1,
    ) -> InstancePlan:
        """Create a job and its instance; return the plan to run it with."""
        data = document_bytes(document)
        runbook = document if isinstance(document, Runbook) else decode_document(data)
        path = runbook.path
        rid = runbook_id or runbook_id_for(path)
        job_id, instance_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.jobs[job_id] = MemoryJob(
            id=job_id,
            runbook_id=rid,
            runbook_path=path,
            parameters=dict(parameters or {}),
            status="running",
            instance_ids=[instance_id],
            parent_job=parent_job,
        )
        plan = InstancePlan(
            ref=InstanceRef(job_id=job_id, instance_id=instance_id, epoch=0),
            runbook_id=rid,
            runbook_name=runbook.name,
            runbook_path=path,
            runbook_version=version,
            document=data,
            parameters=dict(parameters or {}),
            server=server,
        )
        self.plans[instance_id] = plan
        self.runs[instance_id] = {}
        return plan

    async def load_instance(self, instance_id: str) -> InstancePlan:
        plan = self.plans.get(instance_id)
        if plan is None:
            raise NotFound(f"no instance {instance_id}")
        return msgspec.structs.replace(plan, recorded=self.runs_of(instance_id))

    def take_over(self, instance_id: str, server: str = "local") -> InstancePlan:
        """A new owner: bump the epoch (fencing the old one out) and hand back the plan."""
        plan = self.plans[instance_id]
        ref = msgspec.structs.replace(plan.ref, epoch=plan.ref.epoch + 1)
        self.plans[instance_id] = plan = msgspec.structs.replace(plan, ref=ref, server=server)
        return msgspec.structs.replace(plan, recorded=self.runs_of(instance_id))

    def runs_of(self, instance_id: str) -> list[RecordedRun]:
        """Every recorded run, in the order the runs started."""
        return [msgspec.structs.replace(r) for r in self.runs[instance_id].values()]

    # -- the Store protocol ----------------------------------------------------
    def _check(self, ref: InstanceRef) -> dict[str, RecordedRun]:
        current = self.plans[ref.instance_id].ref.epoch
        if ref.epoch < current:
            raise StaleOwner(f"instance {ref.instance_id} is owned at epoch {current}")
        return self.runs[ref.instance_id]

    async def record_run_start(self, ref: InstanceRef, start: RunStart, *, durable: bool) -> None:
        runs = self._check(ref)
        runs[start.run_id] = RecordedRun(
            run_id=start.run_id,
            activity=start.activity,
            parent_run=start.parent_run,
            item=start.item,
            attempt=start.attempt,
            started_at=start.started_at,
            lineage=start.lineage,
            status="running",
        )
        if durable:
            self.durable_starts.add(start.run_id)
        self.writes.append(("start", start.run_id))

    async def record_run_result(self, ref: InstanceRef, result: RunResult) -> None:
        rec = self._check(ref)[result.run_id]
        rec.status = result.status
        rec.published = result.published
        rec.ended_at = result.ended_at
        rec.error = result.error
        rec.returned_data = result.returned_data
        self.writes.append(("result", result.run_id))

    async def record_instance_outcome(self, ref: InstanceRef, outcome: InstanceOutcome) -> None:
        self._check(ref)
        self.outcomes[ref.instance_id] = outcome
        job = self.jobs.get(ref.job_id)
        if job is not None:
            job.status = outcome.status  # type: ignore[assignment]
            job.returned_data = dict(outcome.returned_data)
            job.error = outcome.error
        self.writes.append(("outcome", ref.instance_id))

    async def record_final_result(
        self, ref: InstanceRef, result: RunResult, outcome: InstanceOutcome
    ) -> None:
        await self.record_run_result(ref, result)
        await self.record_instance_outcome(ref, outcome)


class MemoryVariables:
    """A :class:`~actors.store.VariableSource` over a dict."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})
        self.fetches: list[frozenset[str]] = []

    async def get_variables(self, names: frozenset[str]) -> dict[str, str]:
        self.fetches.append(names)
        return {n: self.values[n] for n in names if n in self.values}


class _Child:
    __slots__ = ("actor", "done", "job_id", "outcome")

    def __init__(self, job_id: str, actor: InstanceActor) -> None:
        self.job_id = job_id
        self.actor = actor
        self.done = asyncio.Event()
        self.outcome: InstanceOutcome | None = None


class MemoryLauncher:
    """A :class:`~actors.store.ChildLauncher` running child runbooks in this process.

    ``runbooks`` maps a runbook path to its document; a child is found by path
    or by :func:`runbook_id_for` of its path. Children run in the launcher's
    own TaskGroup: use it as ``async with MemoryLauncher(...) as launcher``.
    """

    def __init__(
        self,
        store: MemoryStore,
        registry: Registry,
        runbooks: Mapping[str, Document] | None = None,
        *,
        events: EventSink | None = None,
        variables: MemoryVariables | None = None,
        options: RuntimeOptions | None = None,
        services: Services | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.events = events
        self.variables = variables
        self.options = options
        self.services = services
        self._documents: dict[str, bytes] = {}
        self._by_id: dict[str, str] = {}
        for path, doc in (runbooks or {}).items():
            self._documents[path] = document_bytes(doc)
            self._by_id[runbook_id_for(path)] = path
        self._compiled: dict[str, CompiledRunbook] = {}
        self._children: dict[str, _Child] = {}
        self._tg: asyncio.TaskGroup | None = None

    async def __aenter__(self) -> MemoryLauncher:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        if exc is not None:
            for child in self._children.values():
                child.actor.stop()
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            if exc is not None and list(group.exceptions) == [exc]:
                return False  # the body's own error: let it propagate as itself
            raise

    def _resolve(self, runbook: str) -> str:
        path = runbook if runbook in self._documents else self._by_id.get(runbook)
        if path is None:
            raise NotFound(f"no runbook {runbook}")
        return path

    async def start_child(
        self, parent: InstanceRef, runbook: str, parameters: dict[str, str]
    ) -> str:
        if self._tg is None:
            raise RuntimeError("MemoryLauncher is used outside 'async with'")
        path = self._resolve(runbook)
        compiled = self._compiled.get(path)
        if compiled is None:
            compiled = self._compiled[path] = load(self._documents[path], self.registry)
        params = parse_parameters(compiled, dict(parameters))
        plan = self.store.add_job(
            self._documents[path],
            params,
            runbook_id=runbook_id_for(path),
            parent_job=parent.job_id,
        )
        actor = InstanceActor(
            plan,
            self.store,
            registry=self.registry,
            compiled=compiled,
            events=self.events,
            launcher=self,
            variables=self.variables,
            options=self.options,
            services=self.services,
        )
        child = self._children[plan.ref.job_id] = _Child(plan.ref.job_id, actor)
        self._tg.create_task(self._run(child), name=f"child-job/{plan.ref.job_id}")
        return plan.ref.job_id

    async def _run(self, child: _Child) -> None:
        try:
            child.outcome = await child.actor.run()
        finally:
            child.done.set()

    async def wait_child(self, job_id: str) -> ChildResult:
        child = self._children.get(job_id)
        if child is None:
            raise NotFound(f"no child job {job_id}")
        await child.done.wait()
        outcome = child.outcome
        if outcome is None:
            return ChildResult(job_id=job_id, status="failed", returned_data={})
        return ChildResult(
            job_id=job_id, status=outcome.status, returned_data=dict(outcome.returned_data)
        )

    async def stop_child(self, job_id: str) -> None:
        child = self._children.get(job_id)
        if child is not None:
            child.actor.stop()


class LocalRun(msgspec.Struct, kw_only=True):
    outcome: InstanceOutcome
    job_id: str
    instance_id: str
    runs: list[RecordedRun]
    """Every run of the instance, in start order."""


async def run_local(
    document: Document,
    parameters: Mapping[str, Any] | None = None,
    *,
    registry: Registry | None = None,
    runbooks: Mapping[str, Document] | None = None,
    variables: Mapping[str, str] | None = None,
    events: EventSink | None = None,
    options: RuntimeOptions | None = None,
    store: MemoryStore | None = None,
    services: Services | None = None,
) -> LocalRun:
    """Validate ``document``, check ``parameters``, run it in memory to its end.

    ``ctx.services`` are in memory (:mod:`orch.sdk.local`, sharing
    ``variables``) unless ``services`` is given.
    Raises ``DocumentInvalid`` for a bad document or bad parameters.
    """
    registry = registry or default_registry()
    compiled = load(document_bytes(document), registry)
    params = parse_parameters(compiled, dict(parameters or {}))
    store = store or MemoryStore()
    plan = store.add_job(document, params)
    source = MemoryVariables(variables)
    if services is None:
        services = memory_services(variables=SdkVariables(source.values))
    async with MemoryLauncher(
        store, registry, runbooks, events=events, variables=source, options=options,
        services=services,
    ) as launcher:
        actor = InstanceActor(
            plan,
            store,
            registry=registry,
            compiled=compiled,
            events=events,
            launcher=launcher,
            variables=source,
            options=options,
            services=services,
        )
        outcome = await actor.run()
    return LocalRun(
        outcome=outcome,
        job_id=plan.ref.job_id,
        instance_id=plan.ref.instance_id,
        runs=store.runs_of(plan.ref.instance_id),
    )
