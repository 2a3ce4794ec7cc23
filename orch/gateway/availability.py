"""The gateway while the database fails over, and while it starts: health, readiness, deadlines.

- ``DatabaseState``: ``ok``, or ``degraded`` since the first failure seen (an API
  call that found the database gone, a failed probe) until a probe succeeds.
  ``GET /health`` (liveness) reports it; API calls meanwhile get 503
  ``database-unavailable`` (the error middleware) as their connection fails —
  a refused connection fails at once, and the pool opens new sessions on
  whichever host is writable once there is one.
- ``Startup``: conditions an embedder (``orch up``) waits for before the
  gateway may serve — the admin user and token, a running runbook server.
  Until they are met every request but ``/health*`` gets 503 ``starting``
  (never a 401 for a token that is about to exist), and ``/health`` says
  ``starting`` with a 503.
- ``GET /health/ready`` (readiness, public): 200 only when the database answers
  as a writable primary, nothing is starting, the first user exists and a
  runbook server is up.
- Every request has a deadline (``ORCH_REQUEST_TIMEOUT_SECONDS``; websockets
  excepted): past it, 503 ``timeout`` — a database that does not answer at all
  (a host gone without a reset) never hangs a client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from orch import __version__
from orch.api.health import Health, Readiness
from orch.db.lost import RETRYABLE
from orch.gateway.bodies import json_response
from orch.gateway.errors import DATABASE_LOST, error_response
from orch.gateway.keys import POOL, SETTINGS
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["DB_STATE", "STARTUP", "DatabaseState", "Startup", "availability_middleware",
           "health", "install_availability", "ready"]

log = get_logger(__name__)
T = TypeVar("T")

PROBE_TIMEOUT = 2.0
"""Seconds a health probe waits for the database."""


class DatabaseState:
    """``ok`` or ``degraded`` (since when); see the module docstring."""

    def __init__(self) -> None:
        self._since: float | None = None
        self.error: str | None = None

    @property
    def degraded(self) -> bool:
        return self._since is not None

    @property
    def degraded_seconds(self) -> float | None:
        return None if self._since is None else round(time.monotonic() - self._since, 3)

    def lost(self, error: BaseException | str) -> None:
        self.error = str(error) or type(error).__name__
        if self._since is None:
            self._since = time.monotonic()
            log.warning("database unavailable: degraded until it answers again",
                        error=self.error)

    def ok(self) -> None:
        if self._since is not None:
            log.info("database reachable again", degraded_seconds=self.degraded_seconds)
        self._since = None
        self.error = None

    async def probe(self, app: web.Application) -> bool:
        """One round trip with a deadline; updates the state."""
        try:
            await within(app, app[POOL].fetchval(Q.api_health), PROBE_TIMEOUT)
        except (*RETRYABLE, *DATABASE_LOST) as exc:
            self.lost(exc if str(exc) else f"no answer within {PROBE_TIMEOUT:g} s")
            return False
        self.ok()
        return True


class Startup:
    """What the embedder still waits for before the gateway serves (empty: serving)."""

    def __init__(self) -> None:
        self.pending: set[str] = set()

    def wait_for(self, *what: str) -> None:
        self.pending.update(what)

    def done(self, what: str) -> None:
        self.pending.discard(what)

    @property
    def starting(self) -> bool:
        return bool(self.pending)


DB_STATE = web.AppKey("db_state", DatabaseState)
STARTUP = web.AppKey("startup", Startup)
STRAGGLERS = web.AppKey("stragglers", set)
"""Work cancelled at its deadline that is still unwinding (owned by the app)."""


async def within(app: web.Application, work: Coroutine[Any, Any, T], seconds: float) -> T:
    """``await work``, or TimeoutError after ``seconds`` — without waiting for it to unwind.

    A plain ``asyncio.timeout`` is not enough against a database that answers
    nothing (a paused or vanished host): the cancelled query hands its
    connection back to the pool, which first waits for the query's cancel
    request — sent to that same silent server. So the work runs in a task of
    its own; at the deadline it is cancelled and left to finish unwinding in
    the background (the app awaits it at shutdown), and the caller answers.
    """
    task = asyncio.get_running_loop().create_task(work, name="gateway:deadline")
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        _abandon(app, task)  # the client went away: so does its work
        raise
    if task in done:
        return task.result()
    _abandon(app, task)
    raise TimeoutError(f"no answer within {seconds:g} s")


def _abandon(app: web.Application, task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and let it unwind on its own, owned by the app until it ends."""
    task.cancel()
    stragglers = app[STRAGGLERS]
    stragglers.add(task)
    task.add_done_callback(_forget(stragglers))


def _forget(stragglers: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        stragglers.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: it was answered for already
    return done


async def _stop_stragglers(app: web.Application) -> None:
    tasks = list(app[STRAGGLERS])
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)

_HEALTH_PATHS = ("/health", "/health/ready")


@web.middleware
async def availability_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    app = request.app
    if request.path in _HEALTH_PATHS:
        return await handler(request)
    startup = app[STARTUP]
    if startup.starting:
        return error_response(
            503, "starting",
            f"orch is starting (waiting for: {', '.join(sorted(startup.pending))}); "
            "retry shortly", headers={"Retry-After": "1"})
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await handler(request)  # lives as long as the client wants
    seconds = app[SETTINGS].request_timeout_seconds
    try:
        return await within(app, handler(request), seconds)
    except TimeoutError:
        log.warning("request deadline passed", method=request.method, path=request.path,
                    seconds=seconds)
        return error_response(
            503, "timeout",
            f"no answer within {seconds:g} s (is the database reachable?); retry shortly",
            headers={"Retry-After": "1"})
    except DATABASE_LOST as exc:
        app[DB_STATE].lost(exc)
        raise  # the error middleware answers 503 database-unavailable


async def health(request: web.Request) -> web.Response:
    """Liveness: 200 while the process serves — ``ok``, or ``degraded`` while the
    database is away (``degraded_seconds``); 503 only while starting."""
    app = request.app
    state = app[DB_STATE]
    reachable = await state.probe(app)
    if app[STARTUP].starting:
        return json_response(Health(
            status="starting", version=__version__,
            database="ok" if reachable else "unavailable",
            starting=sorted(app[STARTUP].pending)), 503)
    if not reachable:
        return json_response(Health(
            status="degraded", version=__version__, database="unavailable",
            degraded_seconds=state.degraded_seconds, error=state.error))
    return json_response(Health(status="ok", version=__version__, database="ok"))


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 when API calls can be served and jobs will run, else 503 naming why."""
    app = request.app
    state = app[DB_STATE]
    waiting: list[str] = [f"start-up: {w}" for w in sorted(app[STARTUP].pending)]
    bootstrapped, servers = False, 0
    if await state.probe(app):
        try:
            row = await within(app, app[POOL].fetchrow(
                Q.api_ready, app[SETTINGS].server_timeout_seconds), PROBE_TIMEOUT)
            assert row is not None
            bootstrapped, servers = bool(row["bootstrapped"]), int(row["servers"])
        except (*RETRYABLE, *DATABASE_LOST) as exc:
            state.lost(exc if str(exc) else f"no answer within {PROBE_TIMEOUT:g} s")
    if state.degraded:
        waiting.append("database: no writable primary reachable")
    else:
        if not bootstrapped:
            waiting.append("bootstrap: no user yet (orch db migrate or orch up creates the admin)")
        if servers == 0:
            waiting.append("runbook server: none up")
    body = Readiness(ready=not waiting, version=__version__,
                     database="unavailable" if state.degraded else "ok",
                     degraded_seconds=state.degraded_seconds, bootstrapped=bootstrapped,
                     runbook_servers=servers, waiting_for=waiting)
    return json_response(body, 200 if not waiting else 503)


def install_availability(app: web.Application) -> None:
    app[DB_STATE] = DatabaseState()
    app[STARTUP] = Startup()
    app[STRAGGLERS] = set()
    app.on_cleanup.append(_stop_stragglers)
