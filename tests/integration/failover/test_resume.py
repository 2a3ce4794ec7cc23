"""Resuming a failed instance: what failed runs again, what succeeded is kept."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from orch.db.resume import resume_instance, runs_to_rerun
from orch.document.validate import load
from orch.errors import Conflict, NotFound
from tests.integration.failover.pack import count, install
from tests.integration.failover.procs import Fleet, effect, instance_row, run_rows
from tests.integration.helpers import check_in, runbook_doc, start, start_job, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _pack() -> None:
    install()


def _check(aid: str, path: Path) -> dict:  # type: ignore[type-arg]
    """Fails until ``path`` exists (the cause an operator fixes)."""
    return {"id": aid, "type": "run_program",
            "properties": {"program": "test", "args": ["-e", str(path)]}}


async def test_resume_reruns_the_failed_activity_and_keeps_what_succeeded(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, fixed = tmp_path / "effects", tmp_path / "fixed"
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Fixable", [
            start(), effect("e1", fx), _check("check", fixed), effect("e2", fx)]))
        ok = await check_in(conn, runbook_doc("Fine", [start(), effect("e1", fx)]))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p")
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
            fine = await start_job(conn, ok)
        assert (await wait_job(pool, job.id, timeout=30)).status == "failed"
        assert (await wait_job(pool, fine.id, timeout=30)).status == "success"
        inst = await instance_row(pool, job.id)
        fine_inst = await instance_row(pool, fine.id)
        assert inst is not None and fine_inst is not None
        async with pool.acquire() as conn:
            with pytest.raises(NotFound):
                await resume_instance(conn, uuid.uuid4(), actor=None)
            with pytest.raises(Conflict):
                await resume_instance(conn, uuid.UUID(fine_inst["id"]), actor=None)
        fixed.touch()  # the operator fixes the cause ...
        async with pool.acquire() as conn:
            result = await resume_instance(conn, uuid.UUID(inst["id"]), actor="admin")
            with pytest.raises(Conflict):  # ... once: it is running now
                await resume_instance(conn, uuid.UUID(inst["id"]), actor="admin")
        assert result.rerun == 1
        done = await wait_job(pool, job.id, timeout=30)
        assert (await instance_row(pool, job.id))["epoch"] == 2  # type: ignore[index]
    assert (done.status, done.server, done.instance_id) == ("success", "p", inst["id"])
    assert done.instance_ids == [inst["id"]]  # the same instance, resumed
    effects = count(fx)
    assert effects[(job.id, "e1")] == 1  # kept, not run again
    assert effects[(job.id, "e2")] == 1
    assert await run_rows(pool, inst["id"]) == [
        ("start", "success"), ("e1", "success"), ("check", "success"), ("e2", "success")]
    history = await pool.fetch(
        "SELECT activity, status, superseded_at IS NOT NULL AS superseded"
        " FROM activity_runs WHERE instance_id = $1 ORDER BY seq", uuid.UUID(inst["id"]))
    assert [tuple(r) for r in history] == [
        ("start", "success", False), ("e1", "success", False), ("check", "failed", True),
        ("check", "success", False), ("e2", "success", False)]
    resumed = await pool.fetchrow(
        "SELECT data FROM events WHERE instance_id = $1 AND data ? 'resumed_by'",
        uuid.UUID(inst["id"]))
    assert resumed["data"]["resumed_by"] == "admin" and resumed["data"]["resumed_from"] == "p"
    taken = await pool.fetchrow(
        "SELECT server, data FROM events WHERE instance_id = $1 AND data ? 'taken_over_from'",
        uuid.UUID(inst["id"]))
    assert taken["server"] == "p" and taken["data"]["reason"] == "resumed"


def test_which_runs_a_resume_reruns() -> None:
    """Unhandled failures and what depended on them; handled failures stay."""
    from actors import lineage as lin

    install()
    doc = runbook_doc("Shape", [
        start(), effect("a", Path("/x")), effect("b", Path("/x")), effect("h", Path("/x")),
        {"id": "j", "type": "junction", "properties": {}}, effect("after", Path("/x")),
    ], links=[("start", "a"), ("start", "b"), ("a", "h"), ("a", "j"), ("b", "j"),
              ("j", "after")])
    compiled = load(doc)

    def run(rid: str, act: str, status: str, parent: str | None, link: int) -> dict:  # type: ignore[type-arg]
        return {"run_id": rid, "activity": act, "status": status, "parent_run": parent,
                "item": 0, "attempt": 1, "lineage": lin.encode(lin.Lineage(link=link))}

    runs = [
        run("1", "start", "success", None, lin.START_LINK),
        run("2", "a", "failed", "1", 0),      # handled: h followed it
        run("3", "b", "failed", "1", 1),      # unhandled: nothing followed it
        run("4", "h", "success", "2", 2),
        run("5", "j", "success", "2", lin.JUNCTION_LINK),  # fired with b known failed
        run("6", "after", "success", "5", 5),
    ]
    assert runs_to_rerun(runs, compiled) == {"3", "5", "6"}
