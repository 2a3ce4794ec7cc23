"""Resume a failed instance: re-run what failed, keep everything that succeeded.

An operator fixes the cause of a failure and resumes the instance. It is the
same instance (same id, same job), back to ``running`` with no owner; any
eligible runbook server takes it over exactly as after a server loss (with a
new owner epoch), and the runtime replays it from its recorded runs.

Which runs are re-run: the failed runs that made the instance fail — a run
whose status is ``failed``, ``interrupted`` or ``stopped`` and that no
recorded run follows (no link was followed from it; all attempts of a loop
go together) — and, with them, every run that depended on them: their
descendants through ``parent_run``, and any junction downstream of a re-run
activity (it fired knowing that branch as failed), with its descendants.
Those runs are marked ``superseded_at``: they stay in the history, but the
replay no longer finds them, so their triggers run afresh under new run ids.
Every other run is reused with its published data, so nothing that succeeded
runs again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

from actors import lineage as lin
from orch.db.jobs import compiled_version
from orch.errors import Conflict, NotFound
from orch.sql import Q

if TYPE_CHECKING:
    from orch.document.graph import CompiledRunbook
    from orch.sdk.registry import Registry

__all__ = ["ResumeResult", "resume_instance", "runs_to_rerun"]

_FAILED = frozenset({"failed", "interrupted", "stopped"})


@dataclass(frozen=True, slots=True)
class ResumeResult:
    instance_id: str
    job_id: str
    rerun: int
    """Runs superseded (to be run again)."""


def _trigger(run: asyncpg.Record | dict) -> tuple[object, ...]:  # type: ignore[type-arg]
    link = lin.decode(bytes(run["lineage"])).link
    if link == lin.JUNCTION_LINK:
        return (run["activity"], link)
    return (run["activity"], run["parent_run"], link, run["item"])


def runs_to_rerun(runs: list[dict], compiled: CompiledRunbook) -> set[str]:  # type: ignore[type-arg]
    """The run ids a resume supersedes (see the module docstring); ``runs`` in start order."""
    children: dict[str | None, list[dict]] = defaultdict(list)  # type: ignore[type-arg]
    by_trigger: dict[tuple[object, ...], list[dict]] = defaultdict(list)  # type: ignore[type-arg]
    for r in runs:
        children[r["parent_run"]].append(r)
        by_trigger[_trigger(r)].append(r)
    out: set[str] = set()
    for attempts in by_trigger.values():
        attempts.sort(key=lambda r: r["attempt"])
        last = attempts[-1]
        if last["status"] in _FAILED and not children.get(last["run_id"]):
            out.update(r["run_id"] for r in attempts)
    junctions = {
        aid: act.upstream for aid, act in compiled.activities.items() if act.is_junction
    }
    while True:
        stack = list(out)
        while stack:
            for child in children.get(stack.pop(), ()):
                if child["run_id"] not in out:
                    out.add(child["run_id"])
                    stack.append(child["run_id"])
        rerun_acts = {r["activity"] for r in runs if r["run_id"] in out}
        fired = {
            r["run_id"] for r in runs
            if r["run_id"] not in out and junctions.get(r["activity"], frozenset()) & rerun_acts
        }
        if not fired:
            break
        out |= fired
    return out


async def resume_instance(
    conn: asyncpg.Connection,
    instance_id: uuid.UUID,
    *,
    actor: str | None,
    registry: Registry | None = None,
) -> ResumeResult:
    """Resume failed instance ``instance_id``; NotFound, or Conflict when it is not resumable."""
    async with conn.transaction():
        row = await conn.fetchrow(Q.resume_target, instance_id)
        if row is None:
            raise NotFound(f"no instance {instance_id}")
        if row["status"] != "failed":
            raise Conflict(f"instance {instance_id} is {row['status']}: only a failed "
                           "instance can be resumed")
        if row["latest"] != row["instance_id"] or row["job_status"] != "failed":
            raise Conflict(f"instance {instance_id} is not its job's latest outcome "
                           f"(job {row['job_id']} is {row['job_status']})")
        compiled = await compiled_version(conn, row["runbook_id"], row["runbook_version"],
                                          registry)
        runs = [dict(r) for r in await conn.fetch(Q.resume_runs, instance_id)]
        rerun = runs_to_rerun(runs, compiled)
        try:
            done = await conn.fetchrow(
                Q.resume_instance, instance_id, [uuid.UUID(r) for r in rerun], actor,
                row["server"],
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"{row['runbook_path']} is a monitor runbook and already has "
                           "a running job") from None
        assert done is not None
    return ResumeResult(row["instance_id"], row["job_id"], done["superseded"])
