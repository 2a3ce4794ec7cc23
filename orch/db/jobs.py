"""Starting and stopping jobs — one code path for the gateway and invoke_runbook.

A job pins the runbook's current version and its parameters (checked against
that version's ``initialize_data`` and turned into canonical text). The row
and its ``queued`` event are one statement; the insert trigger NOTIFYs the
runbook servers on commit. The monitor rule (one live job per monitor
runbook) is the unique index ``jobs_one_live_monitor``: its violation is the
409, not a Python check that two callers could both pass.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from orch.errors import Conflict, NotFound
from orch.sql import Q

if TYPE_CHECKING:
    from orch.document.graph import CompiledRunbook
    from orch.sdk.registry import Registry

__all__ = [
    "JobRow",
    "RunbookRow",
    "cached_version",
    "compiled_version",
    "create_job",
    "get_job",
    "pinned_version",
    "request_stop",
    "resolve_runbook",
]

MONITOR_INDEX = "jobs_one_live_monitor"


class RunbookRow(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    folder_id: str
    name: str
    path: str
    current_version: int
    is_monitor: bool
    max_concurrent_jobs: int
    disabled: bool = False


class JobRow(msgspec.Struct, kw_only=True):
    """A job as DESIGN.md shapes it (plus target_server and parent_job_id)."""

    id: str
    runbook_id: str
    runbook_path: str
    runbook_version: int
    status: str
    parameters: dict[str, Any]
    returned_data: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    server: str | None
    instance_id: str | None
    instance_ids: list[str]
    waiting_reason: str | None
    stop_requested_at: datetime | None
    target_server: str | None = None
    parent_job_id: str | None = None
    priority: int = 0
    retries: int = 0
    """Times the job was queued again after a failure (its runbook's ``retry``)."""


def _row(record: asyncpg.Record, kind: type[Any]) -> Any:
    return msgspec.convert(dict(record.items()), kind, from_attributes=False)


def _uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def resolve_runbook(conn: asyncpg.Connection, ref: str) -> RunbookRow | None:
    """A runbook by id (UUID text) or by path (``/Examples/Hello``)."""
    ref = ref.strip()
    as_id = _uuid(ref)
    if as_id is not None:
        record = await conn.fetchrow(Q.runbook_by_id, as_id)
    else:
        from orch.document.paths import normalize_path

        # BadPath (a 422 at the gateway) for '.', '..' or empty segments
        record = await conn.fetchrow(Q.runbook_by_path, normalize_path(ref, field="$.runbook"))
    return None if record is None else _row(record, RunbookRow)


# Checked-in versions are immutable, so a small per-process cache is always right.
_compiled: OrderedDict[tuple[str, int, int], tuple[bytes, CompiledRunbook]] = OrderedDict()
_COMPILED_MAX = 256


def cached_version(
    runbook_id: str, version: int, registry: Registry | None = None
) -> tuple[bytes, CompiledRunbook] | None:
    """The cached document and compiled form of a version, if this process has them."""
    key = (runbook_id, version, id(registry))
    hit = _compiled.get(key)
    if hit is not None:
        _compiled.move_to_end(key)
    return hit


async def pinned_version(
    conn: asyncpg.Connection, runbook_id: str, version: int, registry: Registry | None = None
) -> tuple[bytes, CompiledRunbook]:
    """A checked-in version: its document (JSON bytes) and compiled form, built once."""
    hit = cached_version(runbook_id, version, registry)
    if hit is not None:
        return hit
    key = (runbook_id, version, id(registry))
    text = await conn.fetchval(Q.runbook_document, uuid.UUID(runbook_id), version)
    if text is None:
        raise NotFound(f"runbook {runbook_id} has no version {version}")
    from orch.document.validate import load

    document = text.encode()
    entry = (document, load(document, registry))
    _compiled[key] = entry
    if len(_compiled) > _COMPILED_MAX:
        _compiled.popitem(last=False)
    return entry


async def compiled_version(
    conn: asyncpg.Connection, runbook_id: str, version: int, registry: Registry | None = None
) -> CompiledRunbook:
    """The compiled form of a checked-in version (compiled once per process)."""
    return (await pinned_version(conn, runbook_id, version, registry))[1]


async def create_job(
    conn: asyncpg.Connection,
    *,
    runbook: RunbookRow,
    parameters: dict[str, Any],
    created_by: str | None,
    target_server: str | None = None,
    parent_job_id: str | None = None,
    parent_instance_id: str | None = None,
    registry: Registry | None = None,
    priority: int = 0,
) -> JobRow:
    """Queue a job of the runbook's current version.

    Raises ``DocumentInvalid`` (bad parameters → 422) and ``Conflict`` (→ 409:
    a second live job of a monitor runbook, a disabled runbook, or a start
    outside the schedule of a runbook whose ``schedule.outside`` is ``refuse``).
    """
    from orch.db.gate import evaluate, schedule_now
    from orch.document.validate import parse_parameters

    if runbook.disabled:
        raise Conflict(f"{runbook.path} is disabled: it takes no new jobs")
    compiled = await compiled_version(conn, runbook.id, runbook.current_version, registry)
    params = parse_parameters(compiled, parameters)
    gate_until, reason = None, None
    gated = compiled.runbook.schedule
    if gated is not None:
        definition, now = await schedule_now(conn, gated.name)
        gate = evaluate(gated.name, definition, now)
        if gate.open_until is None and gated.outside == "refuse":
            raise Conflict(f"{runbook.path} refuses jobs outside its schedule: {gate.reason}")
        gate_until, reason = gate.open_until, gate.reason
    try:
        record = await conn.fetchrow(
            Q.insert_job,
            uuid.uuid4(),
            uuid.UUID(runbook.id),
            runbook.current_version,
            params,
            bool(compiled.is_monitor or runbook.is_monitor),
            target_server,
            None if created_by is None else uuid.UUID(str(created_by)),
            None if parent_job_id is None else uuid.UUID(str(parent_job_id)),
            None if parent_instance_id is None else uuid.UUID(str(parent_instance_id)),
            priority,
            gate_until,
            reason,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == MONITOR_INDEX:
            raise Conflict(
                f"{runbook.path} is a monitor runbook and already has a running job"
            ) from None
        raise
    assert record is not None
    return _row(record, JobRow)


async def get_job(conn: asyncpg.Connection, job_id: str | uuid.UUID) -> JobRow | None:
    as_id = _uuid(job_id)
    if as_id is None:
        return None
    record = await conn.fetchrow(Q.job_row, as_id)
    return None if record is None else _row(record, JobRow)


async def request_stop(conn: asyncpg.Connection, job_id: str | uuid.UUID) -> JobRow:
    """Ask a job to stop: a queued job stops at once, a running one via its server.

    Raises ``NotFound`` for an unknown job and ``Conflict`` when it already ended.
    """
    as_id = _uuid(job_id)
    if as_id is None:
        raise NotFound(f"no job {job_id}")
    stopped = await conn.fetchval(Q.request_stop, as_id)
    if stopped is None:
        if not await conn.fetchval(Q.job_exists, as_id):
            raise NotFound(f"no job {job_id}")
        raise Conflict(f"job {job_id} has already ended")
    job = await get_job(conn, as_id)
    assert job is not None
    return job
