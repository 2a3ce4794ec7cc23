"""The Runbook Tester behind the designer's "Test": a draft run in the gateway's memory.

``POST /runbooks/test`` runs the posted draft with :class:`orch.tester.TestSession`
— the real instance actor on the in-memory store, exactly what ``orch test``
runs: no job row, no instance, nothing written to the database, no runbook
server involved. It needs the ``design`` right on the draft's path (its
activities run here, in the gateway's process, as ``orch test`` runs them on
the author's machine). Child runbooks named by ``invoke_runbook`` are read (only
read) from the catalogue, as far as the caller may see them; they run here too.

The run's tester events are kept in order and read with
``GET /runbook-tests/{id}?after=N&wait=S`` (a long poll); step mode and break
points pause before a run until ``POST /runbook-tests/{id}/commands``
answers ``continue``, ``step``, ``skip`` or ``quit`` — the commands of ``orch
test --step``. ``ORCH_DESIGNER_TESTS=off`` turns the route off (403). A run belongs to
its starter (others get a 404), and is
forgotten a while after it ends; one nobody has looked at for
``IDLE_SECONDS`` is quit, so an abandoned pause never holds on.

Every run is a task of :class:`TesterHub`'s TaskGroup, which lives as long as
the app (``cleanup_ctx``): shutting the gateway down cancels them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, Literal

import asyncpg
import msgspec
from aiohttp import web

from orch.api.catalog import StartTestRun, TestCommand, TestPause, TestRunQuery, TestRunState
from orch.api.openapi import Operation
from orch.db import catalog
from orch.db.jobs import resolve_runbook
from orch.document import CompiledActivity, DocumentInvalid, Fault, load, parse_parameters
from orch.document.model import normalize_folder
from orch.errors import NotFound
from orch.gateway.auth import authorize
from orch.gateway.background import background
from orch.gateway.bodies import json_response, read_json, read_query
from orch.gateway.errors import ConflictError, Forbidden, Invalid, NotFoundError
from orch.gateway.keys import POOL, PRINCIPAL, REGISTRY, SETTINGS
from orch.gateway.principal import Principal
from orch.logging import get_logger
from orch.sdk.registry import Registry
from orch.tester import ChildResolver, Found, InstanceView, TestSession
from orch.tester.events import Event, Finished, Paused
from orch.tester.step import Answer, obey, pause_reason

__all__ = ["ROUTES", "TesterHub", "install_tester"]

log = get_logger(__name__)

API = "/api/v1"
IDLE_SECONDS = 600.0
"""A run nobody polled or commanded for this long is quit (and then forgotten)."""
KEEP_SECONDS = 300.0
"""How long an ended run stays readable."""
MAX_EVENTS = 20_000
"""A run reporting more events than this is quit (a runaway fan-out or loop)."""
MAX_PER_USER = 4
MAX_RUNS = 32


class TestRun:
    """One draft run: its events, where it is paused, and how it ended."""

    __test__ = False

    def __init__(self, owner: str, runbook: str, breaks: frozenset[str], step: bool) -> None:
        self.id = str(uuid.uuid4())
        self.owner = owner
        self.runbook = runbook
        self.events: list[Any] = []
        self.state: Literal["running", "paused", "finished"] = "running"
        self.paused: TestPause | None = None
        self.status: str | None = None
        self.returned_data: dict[str, str] = {}
        self.error: str | None = None
        self.session: TestSession | None = None
        self.controller = _RemoteController(self, step=step, breaks=breaks)
        self.seen = asyncio.get_running_loop().time()
        self.ended_at: float | None = None
        self._changed = asyncio.Event()

    def touch(self) -> None:
        self.seen = asyncio.get_running_loop().time()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def observe(self, event: Event) -> None:
        """The session's observer: keep every event in order."""
        self.events.append(msgspec.to_builtins(event))
        if isinstance(event, Finished):
            self.status = event.status
            self.returned_data = dict(event.returned_data)
            self.error = self.error or event.error  # why the hub stopped it, if it did
        if len(self.events) > MAX_EVENTS and self.session is not None and not self.error:
            self.error = f"more than {MAX_EVENTS} events: the test run was stopped"
            self.quit()
        self.notify()

    def quit(self) -> None:
        if self.controller.pending is not None and not self.controller.pending.done():
            self.controller.pending.set_result("quit")
        elif self.session is not None:
            self.session.quit()

    async def wait(self, after: int, seconds: float) -> None:
        """Until there is an event past ``after`` or the state changes, at most ``seconds``."""
        if seconds <= 0 or len(self.events) > after or self.state == "finished":
            return
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await changed.wait()

    def view(self, after: int) -> TestRunState:
        return TestRunState(
            id=self.id, runbook=self.runbook, state=self.state, paused=self.paused,
            status=self.status, returned_data=self.returned_data, error=self.error,
            events=self.events[after:], next=len(self.events),
        )  # fmt: skip


class _RemoteController:
    """``orch test --step``'s controller, answered over HTTP instead of from stdin."""

    def __init__(self, run: TestRun, *, step: bool, breaks: frozenset[str]) -> None:
        self.run = run
        self.stepping = step
        self.breaks = breaks
        self.pending: asyncio.Future[Answer] | None = None
        self._lock = asyncio.Lock()

    async def before_run(
        self, session: TestSession, view: InstanceView, act: CompiledActivity, run_id: str
    ) -> bool | None:
        async with self._lock:  # one pause at a time, as the command-line tester
            if session.quitting:
                return False
            why = pause_reason(self, view, act.id)
            if why is None:
                return None
            self.pending = asyncio.get_running_loop().create_future()
            self.run.state = "paused"
            self.run.paused = TestPause(activity=act.id, name=act.display_name, run_id=run_id,
                                        why=why)  # fmt: skip
            session.observer(Paused(runbook=view.path, depth=view.depth, activity=act.id,
                                    name=act.display_name, run_id=run_id, why=why))  # fmt: skip
            try:
                command = await self.pending
            finally:
                self.pending = None
                self.run.state = "running"
                self.run.paused = None
                self.run.notify()
            return obey(self, command, session, view, act.id, run_id)


class _CatalogueChildren(ChildResolver):
    """Children from the catalogue (current version), as far as the caller may see them."""

    def __init__(self, pool: asyncpg.Pool, principal: Principal) -> None:
        super().__init__(None)
        self.pool = pool
        self.principal = principal

    async def find(self, ref: str) -> Found:
        async with self.pool.acquire() as conn:
            row = await resolve_runbook(conn, ref)
            if row is None or not self.principal.may_see(row.path):
                raise NotFound(f"no runbook {ref!r} in the catalogue")
            version = await catalog.get_version(conn, uuid.UUID(row.id), row.current_version)
        if version is None:
            raise NotFound(f"no runbook {ref!r} in the catalogue")
        return Found(key=f"catalogue:{row.id}:{row.current_version}",
                     source=f"catalogue ({row.path} v{row.current_version})",
                     data=msgspec.json.encode(version.document))  # fmt: skip


class TesterHub:
    """Owns every test run's task (one TaskGroup for the app's lifetime)."""

    def __init__(self) -> None:
        self.runs: dict[str, TestRun] = {}
        self._queue: asyncio.Queue[tuple[TestRun, Any]] = asyncio.Queue()

    def add(self, run: TestRun, job: Any) -> None:
        active = [r for r in self.runs.values() if r.state != "finished"]
        if len(active) >= MAX_RUNS:
            raise ConflictError(f"{MAX_RUNS} test runs are going on: try again later",
                                code="too-many-tests")
        if sum(1 for r in active if r.owner == run.owner) >= MAX_PER_USER:
            raise ConflictError(f"you have {MAX_PER_USER} test runs going on: quit one first",
                                code="too-many-tests")
        self.runs[run.id] = run
        self._queue.put_nowait((run, job))

    async def supervise(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._reap(), name="tester:reaper")
            while True:
                run, job = await self._queue.get()
                tg.create_task(self._run(run, job), name=f"tester:{run.id}")

    async def _run(self, run: TestRun, job: Any) -> None:
        registry, compiled, data, params, resolver, variables = job
        session = TestSession(registry, run.observe, resolver=resolver,
                              controller=run.controller,  # type: ignore[arg-type]
                              variables=variables)  # fmt: skip
        run.session = session
        try:
            await session.run(compiled, data, params, source="designer")
        except Exception as e:  # an activity's bug must not take the hub down
            log.exception("test run failed", test_run=run.id)
            run.status = run.status or "failed"
            run.error = run.error or f"the test run failed: {e}"
        finally:
            run.state = "finished"
            run.paused = None
            run.ended_at = asyncio.get_running_loop().time()
            run.notify()

    async def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(IDLE_SECONDS, KEEP_SECONDS) / 10)
            now = loop.time()
            for run in list(self.runs.values()):
                if run.state == "finished":
                    ended = max(run.ended_at or now, run.seen)
                    if now - ended > KEEP_SECONDS:
                        del self.runs[run.id]
                elif now - run.seen > IDLE_SECONDS:
                    run.error = run.error or "nobody watched the test run: it was stopped"
                    run.quit()

    def get(self, request: web.Request) -> TestRun:
        run = self.runs.get(request.match_info["id"])
        if run is None or run.owner != str(request[PRINCIPAL].user_id):
            raise NotFoundError(f"no test run {request.match_info['id']}")
        run.touch()
        return run


HUB = web.AppKey("tester_hub", TesterHub)


async def start_test(request: web.Request) -> web.Response:
    body = await read_json(request, StartTestRun)
    if not request.app[SETTINGS].designer_tests:
        raise Forbidden("test runs in the gateway are turned off (ORCH_DESIGNER_TESTS=off): "
                        "test with `orch test` instead", code="designer-tests-off")
    doc = body.document
    folder, name = doc.get("folder", "/"), doc.get("name")
    path = None
    if isinstance(folder, str) and isinstance(name, str):
        path = f"{normalize_folder(folder).rstrip('/')}/{name}"
    principal = authorize(request, "design", path or "/")
    registry: Registry = request.app[REGISTRY]
    try:
        compiled = load(doc, registry)
    except DocumentInvalid as e:
        raise DocumentInvalid([Fault(f"$.document{f.path[1:]}", f.message, f.code)
                               for f in e.faults]) from None  # fmt: skip
    for i, aid in enumerate(body.breakpoints):
        if aid not in compiled.activities:
            raise Invalid(f"no activity {aid!r} to pause before", path=f"$.breakpoints[{i}]")
    params = parse_parameters(compiled, dict(body.parameters))
    run = TestRun(str(principal.user_id), compiled.path, frozenset(body.breakpoints), body.step)
    resolver = _CatalogueChildren(request.app[POOL], principal)
    job = (registry, compiled, msgspec.json.encode(doc), params, resolver, body.variables)
    request.app[HUB].add(run, job)
    return json_response(run.view(0), status=201)


async def read_test(request: web.Request) -> web.Response:
    query = read_query(request, TestRunQuery)
    run = request.app[HUB].get(request)
    await run.wait(query.after, query.wait)
    return json_response(run.view(min(query.after, len(run.events))))


async def command_test(request: web.Request) -> web.Response:
    body = await read_json(request, TestCommand)
    run = request.app[HUB].get(request)
    pending = run.controller.pending
    if body.command == "quit":
        run.quit()
    elif pending is None or pending.done():
        raise ConflictError(f"the test run is {run.state}, not paused: only quit applies",
                            code="not-paused")
    else:
        pending.set_result(body.command)
    return json_response(run.view(len(run.events)))


async def delete_test(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    run = hub.get(request)
    run.quit()
    hub.runs.pop(run.id, None)
    return web.Response(status=204)


def install_tester(app: web.Application) -> None:
    app[HUB] = TesterHub()
    app.cleanup_ctx.append(background("tester:hub", lambda app: app[HUB].supervise()))


_TEST_ID = {"id": {"type": "string", "format": "uuid"}}

ROUTES = (
    (Operation("POST", f"{API}/runbooks/test", "start_test_run",
               "Run a draft document with the in-memory tester (no job, nothing stored); "
               "step mode and break points pause it", body=StartTestRun,
               response=TestRunState, status=201, errors=(403, 404, 409, 422),
               tags=("designer",)),
     start_test),
    (Operation("GET", f"{API}/runbook-tests/{{id}}", "get_test_run",
               "A test run's state and its events after `after` (long poll with `wait`)",
               query=TestRunQuery, response=TestRunState, path_params=_TEST_ID,
               errors=(404, 422), tags=("designer",)),
     read_test),
    (Operation("POST", f"{API}/runbook-tests/{{id}}/commands", "command_test_run",
               "Answer a pause (continue, step, skip) or quit the test run",
               body=TestCommand, response=TestRunState, path_params=_TEST_ID,
               errors=(404, 409, 422), tags=("designer",)),
     command_test),
    (Operation("DELETE", f"{API}/runbook-tests/{{id}}", "delete_test_run",
               "Quit a test run and forget it", status=204, path_params=_TEST_ID,
               errors=(404,), tags=("designer",)),
     delete_test),
)
