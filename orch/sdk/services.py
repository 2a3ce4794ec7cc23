"""Shared state an activity reaches through the runtime: ``ctx.services``.

Counters, variables, schedules, approvals and webhooks live outside any one
instance (in PostgreSQL on a runbook server, in dicts in the SDK's test helper
and the Runbook Tester). Activities see them only through these small
protocols, so the standard state activities are written like any third-party
pack, and the same activity runs against either backing.

A service the runtime does not provide raises :class:`ActivityError` when
used (``ctx.services.counters`` on a runtime without counters), which fails
the run with a clear message rather than crashing anything.

Monitors hand each trigger to a :class:`TriggerSink` (``ctx.trigger``): the
runbook server makes every trigger a new instance of the monitor's job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

from orch.errors import ActivityError

if TYPE_CHECKING:
    from orch.sdk.context import Context, Item
    from orch.sdk.schedule import Schedule

CounterAction = Literal["set", "increment", "decrement", "reset"]
DecisionStatus = Literal["approved", "rejected", "expired"]


class CounterValue(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    value: int
    default: int = 0


class Counters(Protocol):
    """Named integer counters; every change is one atomic step wherever it runs."""

    async def get(self, name: str) -> CounterValue | None:
        """The counter, or None when no counter has that name."""

    async def modify(self, name: str, action: CounterAction, value: int = 0) -> CounterValue:
        """Apply ``action`` atomically and return the counter after it.

        ``set`` and ``increment``/``decrement`` (by ``value``) create a missing
        counter from 0; ``reset`` puts it back to its default.
        """


class Variables(Protocol):
    """Global variables (``{variable:Name}``)."""

    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str) -> None:
        """Create or replace a plain-text variable (encrypted ones are refused)."""


class Schedules(Protocol):
    async def get(self, name: str) -> Schedule | None: ...


class ApprovalRequest(msgspec.Struct, kw_only=True, frozen=True):
    key: str
    """Idempotency key (the activity run id): asking twice gives the same approval."""
    job_id: str
    instance_id: str
    runbook_id: str
    runbook_path: str
    activity: str
    message: str
    expires_at: datetime


class Ticket(msgspec.Struct, kw_only=True, frozen=True):
    """A requested approval: its id and when it expires (as first requested)."""

    approval_id: str
    expires_at: datetime


class Decision(msgspec.Struct, kw_only=True, frozen=True):
    approval_id: str
    status: DecisionStatus
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str = ""


class Approvals(Protocol):
    """Human decisions: a pending approval is decided through the API (or it expires)."""

    async def request(self, request: ApprovalRequest) -> Ticket:
        """Create the approval, or find the one with the same key (a rerun after a
        takeover keeps the first expiry)."""

    async def wait(self, approval_id: str) -> Decision:
        """Wait until the approval is decided (or expired elsewhere)."""

    async def expire(self, approval_id: str) -> Decision:
        """Expire it unless already decided; the final decision either way."""


class WebhookRequest(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    body: Any
    """The request's JSON body, decoded."""
    received_at: datetime
    remote: str = ""


class Webhooks(Protocol):
    def receive(
        self, runbook_id: str, token: str, *, ready: Callable[[], None] | None = None
    ) -> AsyncIterator[WebhookRequest]:
        """Register the runbook's endpoint with ``token`` (then call ``ready``) and
        yield each request it accepts, once; the endpoint goes away when the
        iteration ends."""


class TriggerSink(Protocol):
    async def trigger(self, ctx: Context, items: list[Item]) -> str:
        """Start an instance of the rest of the runbook with ``items`` as the
        monitor's published data; return the new instance id."""


class Services:
    """What a runtime provides; a missing one fails the activity that needs it."""

    __slots__ = ("_approvals", "_counters", "_schedules", "_variables", "_webhooks")

    def __init__(
        self,
        *,
        counters: Counters | None = None,
        variables: Variables | None = None,
        schedules: Schedules | None = None,
        approvals: Approvals | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        self._counters = counters
        self._variables = variables
        self._schedules = schedules
        self._approvals = approvals
        self._webhooks = webhooks

    @staticmethod
    def _need(service: Any, what: str) -> Any:
        if service is None:
            raise ActivityError(f"{what} are not available in this runtime")
        return service

    @property
    def counters(self) -> Counters:
        return self._need(self._counters, "counters")

    @property
    def variables(self) -> Variables:
        return self._need(self._variables, "variables")

    @property
    def schedules(self) -> Schedules:
        return self._need(self._schedules, "schedules")

    @property
    def approvals(self) -> Approvals:
        return self._need(self._approvals, "approvals")

    @property
    def webhooks(self) -> Webhooks:
        return self._need(self._webhooks, "webhooks")


NO_SERVICES = Services()
