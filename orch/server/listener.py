"""The LISTEN side of a runbook server: one direct session, re-established when lost.

Notifications only set flags (``on_notify``); whoever owns the flags clears
them *before* reading the database, so a notification that arrives during a
read is never lost. After every (re)connection ``on_connect`` runs so the
server catches up on whatever it missed while deaf; polling covers the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg

from orch.db.lost import RETRYABLE
from orch.logging import get_logger

__all__ = ["CHANNELS", "Listener"]

log = get_logger(__name__)

_LOST = (*RETRYABLE, asyncpg.PostgresError)
"""What ends a session, to be re-established: a lost database as every component
sees it (``orch.db.lost``), and any error PostgreSQL returned (a LISTEN refused)."""

CHANNELS = ("orch_jobs", "orch_push", "orch_stops", "orch_job_ended", "orch_instances",
            "orch_servers", "orch_approvals", "orch_hooks")


class Listener:
    def __init__(
        self,
        pool: asyncpg.Pool,
        on_notify: Callable[[str, str], None],
        on_connect: Callable[[], None],
    ) -> None:
        self.pool = pool
        self.on_notify = on_notify
        self.on_connect = on_connect
        self.connected = asyncio.Event()
        self.backend_pid: int | None = None
        self.conn: asyncpg.Connection | None = None
        """The listening session while connected: the claimer's too (no pool round trips)."""

    async def run(self) -> None:
        """Listen forever (until cancelled), reconnecting with back-off."""
        delay = 0.05
        while True:
            try:
                await self._session()
                delay = 0.05
            except _LOST as exc:
                log.warning("listener connection failed", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _session(self) -> None:
        lost = asyncio.Event()
        conn: asyncpg.Connection = await self.pool.acquire()
        try:
            conn.add_termination_listener(lambda _c: lost.set())
            for channel in CHANNELS:
                await conn.add_listener(channel, self._callback)
            self.backend_pid = conn.get_server_pid()
            self.conn = conn
            self.connected.set()
            self.on_connect()
            # The termination callback is not always run (asyncpg may abort a
            # connection without its clean-up, e.g. when a query on it fails
            # mid-way — and the claimer queries on it): look at the connection
            # too, so a dead session is never kept (deaf, and failing every claim).
            while not lost.is_set() and not _closed(conn):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
            log.warning("listener connection lost; reconnecting")
        finally:
            self.connected.clear()
            self.backend_pid = None
            self.conn = None
            # Nothing here may raise: an error would replace a CancelledError in
            # flight (shutdown), run() would take it for a lost connection and
            # go on, and the server would wait for this task forever. (After a
            # database restart asyncpg may already have taken the connection
            # back: even is_closed() raises then.)
            with contextlib.suppress(*_LOST):
                if not conn.is_closed():
                    for channel in CHANNELS:
                        await conn.remove_listener(channel, self._callback)
            with contextlib.suppress(*_LOST):
                await self.pool.release(conn)

    def _callback(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self.on_notify(channel, payload)


CHECK_SECONDS = 0.2
"""How often the listening session is checked for having closed without a callback."""


def _closed(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # released back to the pool: gone
        return True
