"""The runtime's seams: what an instance actor needs from the outside world.

The actor runtime knows nothing of HTTP or SQL. It talks to:

- a :class:`Store` — load an instance's plan (pinned runbook version,
  parameters, what was already recorded), record each run's start and
  result, record the instance's outcome. The PostgreSQL store (``orch.db``)
  makes each result durable before returning, batching the writes of all
  instances (group commit); the in-memory store (``actors.memory``) serves
  unit tests and the Runbook Tester.
- an :class:`EventSink` — every state change, once, in order per instance
  (the PostgreSQL store writes its events in the same transaction as the
  state change; the sink is for in-process observers such as the tester).
- a :class:`ChildLauncher` — ``invoke_runbook`` starts and waits for jobs.
- a :class:`VariableSource` — values for ``{variable:Name}``.

All records are msgspec Structs so they cross process and storage boundaries
unchanged. Ids are UUID strings; times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

import msgspec

from orch.errors import Conflict

RunStatus = Literal["running", "success", "warning", "failed", "interrupted", "stopped"]
InstanceStatus = Literal["running", "success", "warning", "failed", "stopped"]
FINAL_RUN_STATUSES: frozenset[str] = frozenset(
    {"success", "warning", "failed", "interrupted", "stopped"}
)

Item = dict[str, str]
"""One item of published data: field name → text."""


class StaleOwner(Conflict):
    """Another server owns this instance now (a newer epoch); this one must stop writing."""


class InstanceRef(msgspec.Struct, frozen=True, kw_only=True):
    """Which instance a record belongs to, and the owner epoch that may write it.

    The epoch fences a server that lost ownership (failover): a store refuses
    writes carrying an older epoch than the instance's current one.
    """

    job_id: str
    instance_id: str
    epoch: int = 0


class RunStart(msgspec.Struct, kw_only=True):
    run_id: str
    activity: str
    parent_run: str | None
    item: int
    """Index of the upstream item this run is bound to (0 when single-valued)."""
    attempt: int = 1
    """Loop attempt number (1 for activities without a loop)."""
    started_at: datetime
    lineage: bytes = b""
    """Opaque to the store: the runtime's own encoding of how the run was
    triggered (see ``actors.lineage``), handed back on resume."""


class RunResult(msgspec.Struct, kw_only=True):
    run_id: str
    activity: str
    status: RunStatus
    published: list[Item]
    """One object per item; common fields included."""
    ended_at: datetime
    error: str | None = None
    returned_data: dict[str, str] | None = None
    """Runbook returned data this run set (``return_data``); kept so a resumed
    instance still returns it."""


class RecordedRun(msgspec.Struct, kw_only=True):
    """A run as the store has it: started, and finished unless ``status == 'running'``."""

    run_id: str
    activity: str
    parent_run: str | None
    item: int
    attempt: int
    started_at: datetime
    lineage: bytes
    status: RunStatus
    published: list[Item] = []
    ended_at: datetime | None = None
    error: str | None = None
    returned_data: dict[str, str] | None = None


class InstancePlan(msgspec.Struct, kw_only=True):
    """Everything an instance actor needs to run (or resume) an instance."""

    ref: InstanceRef
    runbook_id: str
    runbook_name: str
    runbook_path: str
    runbook_version: int
    document: bytes
    """The pinned checked-in version, as JSON (``orch.runbook/1``)."""
    parameters: dict[str, str]
    server: str = ""
    recorded: list[RecordedRun] = []
    """Non-empty when resuming after a takeover."""
    started_by: str | None = None


class InstanceOutcome(msgspec.Struct, kw_only=True):
    status: InstanceStatus
    returned_data: dict[str, str]
    ended_at: datetime
    error: str | None = None


class RuntimeEvent(msgspec.Struct, kw_only=True):
    kind: Literal["instance", "activity"]
    job_id: str
    instance_id: str
    status: str
    at: datetime
    activity: str | None = None
    run_id: str | None = None
    published: list[Item] | None = None
    error: str | None = None


class Store(Protocol):
    async def load_instance(self, instance_id: str) -> InstancePlan: ...

    async def record_run_start(self, ref: InstanceRef, start: RunStart, *, durable: bool) -> None:
        """Record that a run began. With ``durable`` the call returns only once
        the start is committed (before a non-rerunnable activity's side effect);
        otherwise it may return at once and be committed with the result."""

    async def record_run_result(self, ref: InstanceRef, result: RunResult) -> None:
        """Record a run's result; returns once it is durable."""

    async def record_instance_outcome(self, ref: InstanceRef, outcome: InstanceOutcome) -> None:
        """Record how the instance (and so its job) ended; durable on return."""

    async def record_final_result(
        self, ref: InstanceRef, result: RunResult, outcome: InstanceOutcome
    ) -> None:
        """Record the result of the instance's last run and its outcome together
        (one commit where the store can); durable on return. The result is
        recorded first: a store that refuses it records no outcome."""


class EventSink(Protocol):
    def emit(self, event: RuntimeEvent) -> None: ...


class ChildResult(msgspec.Struct, kw_only=True):
    job_id: str
    status: str
    returned_data: dict[str, str]


class ChildLauncher(Protocol):
    async def start_child(
        self, parent: InstanceRef, runbook: str, parameters: dict[str, str]
    ) -> str:
        """Start a job of ``runbook`` (path or id); return the child job id."""

    async def wait_child(self, job_id: str) -> ChildResult:
        """Wait until the child job has ended."""

    async def stop_child(self, job_id: str) -> None:
        """Ask a child job to stop (its parent was stopped while waiting)."""


class VariableSource(Protocol):
    async def get_variables(self, names: frozenset[str]) -> dict[str, str]:
        """Values of the named variables; unknown names are absent."""


class NullEventSink:
    def emit(self, event: RuntimeEvent) -> None:
        return None
