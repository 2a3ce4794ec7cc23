"""In-memory services (``ctx.services``) for the SDK's test helper and local runs.

The same protocols the runbook server implements on PostgreSQL, in dicts. One
event loop means every change is atomic here; tests drive the human and
outside parts directly: :meth:`MemoryApprovals.decide`,
:meth:`MemoryWebhooks.deliver`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from orch.errors import ActivityError, Conflict, NotFound
from orch.sdk.schedule import Schedule
from orch.sdk.services import (
    ApprovalRequest,
    CounterAction,
    CounterValue,
    Decision,
    DecisionStatus,
    Services,
    Ticket,
    WebhookRequest,
)

__all__ = [
    "MemoryApprovals",
    "MemoryCounters",
    "MemorySchedules",
    "MemoryVariables",
    "MemoryWebhooks",
    "memory_services",
]


class MemoryCounters:
    def __init__(self, values: Mapping[str, int] | None = None) -> None:
        self.values: dict[str, CounterValue] = {
            k: CounterValue(name=k, value=v) for k, v in (values or {}).items()
        }

    async def get(self, name: str) -> CounterValue | None:
        return self.values.get(name)

    async def modify(self, name: str, action: CounterAction, value: int = 0) -> CounterValue:
        old = self.values.get(name) or CounterValue(name=name, value=0)
        if action == "set":
            new = value
        elif action == "increment":
            new = old.value + value
        elif action == "decrement":
            new = old.value - value
        elif action == "reset":
            new = old.default
        else:
            raise ActivityError(f"unknown counter action {action!r}")
        out = CounterValue(name=name, value=new, default=old.default)
        self.values[name] = out
        return out


class MemoryVariables:
    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        # a dict is shared, not copied: a local run's {variable:Name} sees set_variable
        self.values: dict[str, str] = values if isinstance(values, dict) else dict(values or {})

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value

    async def get_variables(self, names: frozenset[str]) -> dict[str, str]:
        """Also a runtime ``VariableSource`` (``{variable:Name}``)."""
        return {n: self.values[n] for n in names if n in self.values}


class MemorySchedules:
    def __init__(self, schedules: Mapping[str, Schedule] | None = None) -> None:
        self.schedules: dict[str, Schedule] = dict(schedules or {})

    async def get(self, name: str) -> Schedule | None:
        return self.schedules.get(name)


class MemoryApprovals:
    def __init__(self) -> None:
        self.requests: dict[str, ApprovalRequest] = {}
        self.decisions: dict[str, Decision] = {}
        self._by_key: dict[str, str] = {}
        self._events: dict[str, asyncio.Event] = {}
        self.requested = asyncio.Event()
        """Set whenever an approval is requested (tests wait on it)."""

    async def request(self, request: ApprovalRequest) -> Ticket:
        found = self._by_key.get(request.key)
        if found is not None:
            return Ticket(approval_id=found, expires_at=self.requests[found].expires_at)
        approval_id = str(uuid.uuid4())
        self._by_key[request.key] = approval_id
        self.requests[approval_id] = request
        self._events[approval_id] = asyncio.Event()
        self.requested.set()
        return Ticket(approval_id=approval_id, expires_at=request.expires_at)

    def pending(self) -> list[str]:
        return [a for a in self.requests if a not in self.decisions]

    def decide(
        self, approval_id: str, status: DecisionStatus, by: str | None, comment: str = ""
    ) -> Decision:
        if approval_id not in self.requests:
            raise NotFound(f"no approval {approval_id}")
        if approval_id in self.decisions:
            status_now = self.decisions[approval_id].status
            raise Conflict(f"approval {approval_id} is already {status_now}")
        decision = Decision(
            approval_id=approval_id, status=status, decided_by=by,
            decided_at=datetime.now(UTC), comment=comment,
        )  # fmt: skip
        self.decisions[approval_id] = decision
        self._events[approval_id].set()
        return decision

    async def wait(self, approval_id: str) -> Decision:
        await self._events[approval_id].wait()
        return self.decisions[approval_id]

    async def expire(self, approval_id: str) -> Decision:
        if approval_id not in self.decisions:
            self.decide(approval_id, "expired", None)
        return self.decisions[approval_id]


class MemoryWebhooks:
    def __init__(self) -> None:
        self._queues: dict[str, tuple[str, asyncio.Queue[WebhookRequest]]] = {}
        self.registered = asyncio.Event()

    async def receive(
        self, runbook_id: str, token: str, *, ready: Callable[[], None] | None = None
    ) -> AsyncIterator[WebhookRequest]:
        queue: asyncio.Queue[WebhookRequest] = asyncio.Queue()
        self._queues[runbook_id] = (token, queue)
        self.registered.set()
        if ready is not None:
            ready()
        try:
            while True:
                yield await queue.get()
        finally:
            if self._queues.get(runbook_id, (None, None))[1] is queue:
                del self._queues[runbook_id]

    def deliver(self, runbook_id: str, token: str, body: Any) -> bool:
        """Hand a request to the runbook's endpoint; False when absent or the token is wrong."""
        entry = self._queues.get(runbook_id)
        if entry is None or entry[0] != token:
            return False
        entry[1].put_nowait(
            WebhookRequest(id=str(uuid.uuid4()), body=body, received_at=datetime.now(UTC))
        )
        return True


def memory_services(
    *,
    counters: Mapping[str, int] | MemoryCounters | None = None,
    variables: Mapping[str, str] | MemoryVariables | None = None,
    schedules: Mapping[str, Schedule] | MemorySchedules | None = None,
    approvals: MemoryApprovals | None = None,
    webhooks: MemoryWebhooks | None = None,
) -> Services:
    """Services backed by dicts (pass the Memory* objects to inspect or drive them)."""
    return Services(
        counters=counters if isinstance(counters, MemoryCounters) else MemoryCounters(counters),
        variables=(
            variables if isinstance(variables, MemoryVariables) else MemoryVariables(variables)
        ),
        schedules=(
            schedules if isinstance(schedules, MemorySchedules) else MemorySchedules(schedules)
        ),
        approvals=approvals or MemoryApprovals(),
        webhooks=webhooks or MemoryWebhooks(),
    )
