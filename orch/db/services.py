"""``ctx.services`` on a runbook server: counters, variables, schedules, approvals, webhooks.

Each is a few named queries (``orch/sql/state.sql``). Waiting is
event-driven like child jobs: a decision NOTIFYs ``orch_approvals`` and an
accepted webhook request NOTIFYs ``orch_hooks``; the server's listener rings
the :class:`Doorbell`, and its poller rings every key now and then, so a lost
notification costs one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import asyncpg
import msgspec

from orch.db.lost import RETRYABLE, Backoff
from orch.db.variables import PgVariables
from orch.errors import ActivityError
from orch.logging import get_logger
from orch.sdk.schedule import Schedule
from orch.sdk.services import (
    ApprovalRequest,
    CounterAction,
    CounterValue,
    Decision,
    Services,
    Ticket,
    WebhookRequest,
)
from orch.sql import Q

__all__ = ["CHANNELS", "Doorbell", "pg_services"]

log = get_logger(__name__)
T = TypeVar("T")

RETRY_SECONDS = 60.0
"""How long a read of an activity's service waits for the database (a failover)."""


async def _read(call: Callable[[], Awaitable[T]], what: str) -> T:
    """``call()`` again, with back-off, while the database is away (up to RETRY_SECONDS).

    Only for reads and idempotent statements: a write whose commit is unknown
    is not repeated.
    """
    backoff = Backoff()
    waited = 0.0
    while True:
        try:
            return await call()
        except RETRYABLE as exc:
            if waited >= RETRY_SECONDS:
                raise
            log.warning("database unavailable; retrying", during=what, error=str(exc))
            delay = backoff.next()
            await asyncio.sleep(delay)
            waited += delay

CHANNELS = ("orch_approvals", "orch_hooks")
"""The LISTEN channels whose notifications ring the doorbell (payload: the key)."""


class Doorbell:
    """Wakes whoever waits on a key (an approval id, a runbook id)."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watch(self, key: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiting.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            events = self._waiting.get(key)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiting[key]

    def ring(self, key: str) -> None:
        for event in self._waiting.get(key, ()):
            event.set()

    def ring_all(self) -> None:
        for events in self._waiting.values():
            for event in events:
                event.set()


class PgCounters:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def get(self, name: str) -> CounterValue | None:
        row = await _read(lambda: self.pool.fetchrow(Q.counter_get, name), "counter")
        return None if row is None else _counter(row)

    async def modify(self, name: str, action: CounterAction, value: int = 0) -> CounterValue:
        if action not in ("set", "increment", "decrement", "reset"):
            raise ActivityError(f"unknown counter action {action!r}")
        row = await self.pool.fetchrow(Q.counter_modify, name, action, value)
        assert row is not None
        return _counter(row)


def _counter(row: asyncpg.Record) -> CounterValue:
    return CounterValue(name=row["name"], value=row["value"], default=row["default_value"])


class PgVariablesService:
    def __init__(self, pool: asyncpg.Pool, reader: PgVariables) -> None:
        self.pool = pool
        self.reader = reader

    async def get(self, name: str) -> str | None:
        return (await self.reader.get_variables(frozenset((name,)))).get(name)

    async def set(self, name: str, value: str) -> None:
        if await self.pool.fetchval(Q.variable_set_plain, name, value) is None:
            raise ActivityError(f"variable {name!r} is encrypted: set it through the API")


class PgSchedules:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def get(self, name: str) -> Schedule | None:
        row = await _read(lambda: self.pool.fetchrow(Q.schedule_get, name), "schedule")
        if row is None:
            return None
        try:
            return msgspec.convert(row["definition"], Schedule)
        except msgspec.ValidationError as exc:
            raise ActivityError(f"schedule {name!r} is invalid: {exc}") from None


class PgApprovals:
    def __init__(self, pool: asyncpg.Pool, bell: Doorbell, poll_seconds: float) -> None:
        self.pool = pool
        self.bell = bell
        self.poll_seconds = poll_seconds

    async def request(self, request: ApprovalRequest) -> Ticket:
        row = await self.pool.fetchrow(
            Q.approval_request,
            uuid.uuid4(),
            request.key,
            uuid.UUID(request.job_id),
            uuid.UUID(request.instance_id),
            uuid.UUID(request.runbook_id),
            request.runbook_path,
            request.activity,
            request.message,
            request.expires_at,
        )
        assert row is not None
        return Ticket(approval_id=row["id"], expires_at=row["expires_at"])

    async def wait(self, approval_id: str) -> Decision:
        with self.bell.watch(approval_id) as rung:
            while True:
                rung.clear()  # before reading: a decision meanwhile rings again
                # waiting may take hours: a failover meanwhile only delays the answer
                rows = await _read(lambda: self.pool.fetch(
                    Q.approvals_decided, [uuid.UUID(approval_id)]), "approval")
                if rows:
                    return _decision(rows[0])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(rung.wait(), self.poll_seconds)

    async def expire(self, approval_id: str) -> Decision:
        row = await _read(lambda: self.pool.fetchrow(Q.approval_expire, uuid.UUID(approval_id)),
                          "approval expiry")  # idempotent: a pending approval expires once
        if row is None:
            raise ActivityError(f"approval {approval_id} is gone")
        return _decision(row)


def _decision(row: asyncpg.Record) -> Decision:
    return Decision(
        approval_id=row["id"],
        status=row["status"],
        decided_by=row["decided_by_name"],
        decided_at=row["decided_at"],
        comment=row["comment"] or "",
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PgWebhooks:
    def __init__(self, pool: asyncpg.Pool, bell: Doorbell, poll_seconds: float) -> None:
        self.pool = pool
        self.bell = bell
        self.poll_seconds = poll_seconds

    async def receive(
        self, runbook_id: str, token: str, *, ready: Callable[[], None] | None = None
    ) -> AsyncIterator[WebhookRequest]:
        rid = uuid.UUID(runbook_id)
        digest = token_hash(token)
        with self.bell.watch(runbook_id) as rung:
            await self.pool.execute(Q.webhook_open, rid, digest, None)
            try:
                if ready is not None:
                    ready()
                while True:
                    rung.clear()
                    # (a take whose commit went unanswered in the failover is
                    # lost with its requests: a window of one round trip)
                    rows = await _read(lambda: self.pool.fetch(Q.webhook_take, rid, 100),
                                       "webhook requests")
                    for row in rows:
                        yield WebhookRequest(
                            id=row["id"], body=row["body"],
                            received_at=row["received_at"], remote=row["remote"],
                        )  # fmt: skip
                    if not rows:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(rung.wait(), self.poll_seconds)
            finally:
                # shielded: a stop cancels the monitor, the endpoint must still go away
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.pool.execute(Q.webhook_close, rid, digest))


def pg_services(
    pool: asyncpg.Pool, *, poll_seconds: float = 5.0, variables: PgVariables | None = None
) -> tuple[Services, Doorbell]:
    """The services of one runbook server, and the doorbell its listener rings."""
    bell = Doorbell()
    services = Services(
        counters=PgCounters(pool),
        variables=PgVariablesService(pool, variables or PgVariables(pool)),
        schedules=PgSchedules(pool),
        approvals=PgApprovals(pool, bell, poll_seconds),
        webhooks=PgWebhooks(pool, bell, poll_seconds),
    )
    return services, bell
