"""The lean claim (``claim_jobs_fast``, issue 21): the common case's claim is the job
rows and their instance rows only; the claim's ``job`` and ``instance`` running
events come with the instance's first group commit, ahead of its own records; a
takeover writes them when that commit never came; anything beyond the common
case (assignments, limits, a server not 'up') is left to the claim with every rule.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from actors.store import InstanceOutcome, InstanceRef, RunResult, RunStart
from orch.db.jobs import JobRow, RunbookRow
from orch.db.store import PgStore
from orch.db.writer import GroupCommitWriter
from orch.sql import Q
from tests.integration.helpers import (
    check_in,
    compare,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait_job,
)

_SERVER = (
    "INSERT INTO servers (name, status, capacity, activity_types)"
    " SELECT $1, 'up', 99, array_agg(DISTINCT t)"
    "   FROM runbook_versions, unnest(activity_types) AS t"
)


async def _one_runbook(conn: asyncpg.Connection, name: str = "Lean") -> RunbookRow:
    return await check_in(conn, runbook_doc(name, [start(), compare("a")]))


async def _lean_claimed(pool: asyncpg.Pool, server: str) -> tuple[JobRow, asyncpg.Record]:
    """A one-run runbook's job, lean-claimed by ``server``: the job and the claim's row."""
    async with pool.acquire() as conn:
        rb = await _one_runbook(conn)
        job = await start_job(conn, rb)
        await conn.execute(_SERVER, server)
        (row,) = await conn.fetch(Q.claim_jobs_fast, server, 1, 0)
    assert row["job_id"] == job.id
    return job, row


async def _events(conn: asyncpg.Connection, job_id: object) -> list[tuple[str, str, object]]:
    rows = await conn.fetch(
        "SELECT kind, status, activity, data FROM events WHERE job_id = $1 ORDER BY seq",
        uuid.UUID(str(job_id)))
    return [(r["kind"], r["status"], r["activity"] or r["data"]) for r in rows]


async def test_the_lean_claim_writes_the_job_and_its_instance_only(
    conn: asyncpg.Connection,
) -> None:
    rb = await _one_runbook(conn)
    job = await start_job(conn, rb)
    await conn.execute(_SERVER, "w")
    rows = await conn.fetch(Q.claim_jobs_fast, "w", 5, 0)
    assert [r["job_id"] for r in rows] == [job.id]
    row = rows[0]
    assert row["runbook_path"] == rb.path and row["runbook_version"] == 1
    claimed = await conn.fetchrow("SELECT status, claimed_by, instance_id FROM jobs"
                                  " WHERE id = $1", uuid.UUID(job.id))
    assert claimed["status"] == "running" and claimed["claimed_by"] == "w"
    assert str(claimed["instance_id"]) == row["instance_id"]
    instance = await conn.fetchrow("SELECT server, epoch, status FROM instances WHERE id = $1",
                                   claimed["instance_id"])
    assert tuple(instance) == ("w", 1, "running")
    assert await conn.fetchval("SELECT running FROM servers WHERE name = 'w'") == 1
    # no events yet: the instance's first group commit writes them
    assert [e[:2] for e in await _events(conn, job.id)] == [("job", "queued")]


async def test_the_first_group_commit_writes_the_claim_events_first(
    pool: asyncpg.Pool,
) -> None:
    """Each of the writer's three statements (one run; runs only; anything) writes
    the claim's events just before the instance's first record."""
    async with pool.acquire() as conn:
        rb = await _one_runbook(conn)
        jobs = [await start_job(conn, rb) for _ in range(4)]
        await conn.execute(_SERVER, "w")
        rows = await conn.fetch(Q.claim_jobs_fast, "w", 10, 0)
    assert len(rows) == 4
    refs = [InstanceRef(job_id=r["job_id"], instance_id=r["instance_id"], epoch=1)
            for r in rows]
    writer = GroupCommitWriter(pool, "w")
    store = PgStore(pool, writer)
    for ref in refs:
        writer.claimed(ref.instance_id)

    def run(activity: str) -> tuple[RunStart, RunResult]:
        run_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        return (RunStart(run_id=run_id, activity=activity, parent_run=None, item=0,
                         started_at=now, lineage=b""),
                RunResult(run_id=run_id, activity=activity, status="success",
                          published=[{}], ended_at=now + timedelta(milliseconds=1)))

    task = asyncio.create_task(writer.run())
    try:
        # one run of one instance: write_run
        first, result = run("start")
        await store.record_run_start(refs[0], first, durable=True)
        await store.record_run_result(refs[0], result)
        # runs of two instances in one batch: write_runs_json
        pending = []
        for ref in refs[1:3]:
            first, result = run("start")
            pending.append(writer.submit_start(ref, first, durable=True))
            pending.append(writer.submit_result(ref, result))
        # an outcome as the instance's first record: write_batch
        pending.append(writer.submit_outcome(refs[3], InstanceOutcome(
            status="failed", returned_data={}, ended_at=datetime.now(UTC), error="boom")))
        await asyncio.gather(*(f for f in pending if f is not None))
    finally:
        writer.close()
        await task
    async with pool.acquire() as conn:
        for job in jobs[:3]:
            events = await _events(conn, job.id)
            assert events == [
                ("job", "queued", events[0][2]),
                ("job", "running", {"claimed_by": "w"}),
                ("instance", "running", {"server": "w", "epoch": 1}),
                ("activity", "running", "start"),
                ("activity", "success", "start"),
            ]
        events = await _events(conn, jobs[3].id)
        assert [e[:2] for e in events] == [
            ("job", "queued"), ("job", "running"), ("instance", "running"),
            ("instance", "failed"), ("job", "failed")]
        # the claim events carry the claim's time and the instance id
        at = await conn.fetch(
            "SELECT e.at = i.started_at AS same, e.instance_id = i.id AS own FROM events e"
            "  JOIN instances i ON i.job_id = e.job_id"
            " WHERE e.job_id = $1 AND e.status = 'running' AND e.kind <> 'activity'",
            uuid.UUID(jobs[0].id))
        assert len(at) == 2 and all(r["same"] and r["own"] for r in at)


async def test_only_the_first_record_of_a_lean_claim_writes_its_events(
    pool: asyncpg.Pool,
) -> None:
    job, row = await _lean_claimed(pool, "w")
    ref = InstanceRef(job_id=row["job_id"], instance_id=row["instance_id"], epoch=1)
    writer = GroupCommitWriter(pool, "w")
    store = PgStore(pool, writer)
    writer.claimed(ref.instance_id)
    task = asyncio.create_task(writer.run())
    try:
        for activity in ("start", "a"):
            run_id = str(uuid.uuid4())
            now = datetime.now(UTC)
            await store.record_run_start(ref, RunStart(
                run_id=run_id, activity=activity, parent_run=None, item=0, started_at=now,
                lineage=b""), durable=True)
            await store.record_run_result(ref, RunResult(
                run_id=run_id, activity=activity, status="success", published=[{}],
                ended_at=now))
        await store.record_instance_outcome(ref, InstanceOutcome(
            status="success", returned_data={}, ended_at=datetime.now(UTC)))
    finally:
        writer.close()
        await task
    async with pool.acquire() as conn:
        events = await _events(conn, job.id)
    assert [e[:2] for e in events].count(("job", "running")) == 1
    assert [e[:2] for e in events].count(("instance", "running")) == 1


@pytest.mark.parametrize("rule", ["runbook assignment", "folder assignment", "limit",
                                  "maintenance", "no server row"])
async def test_beyond_the_common_case_the_lean_claim_defers_to_the_full_claim(
    conn: asyncpg.Connection, rule: str,
) -> None:
    rb = await _one_runbook(conn)
    job = await start_job(conn, rb)
    if rule != "no server row":
        await conn.execute(_SERVER, "w")
    if rule == "runbook assignment":
        await conn.execute("INSERT INTO runbook_servers (runbook_id, position, server_name)"
                           " VALUES ($1, 0, 'w')", uuid.UUID(rb.id))
    elif rule == "folder assignment":
        await conn.execute(
            "INSERT INTO folder_servers (folder_id, position, server_name)"
            " SELECT folder_id, 0, 'w' FROM runbooks WHERE id = $1", uuid.UUID(rb.id))
    elif rule == "limit":
        await conn.execute("UPDATE runbooks SET max_concurrent_jobs = 1 WHERE id = $1",
                           uuid.UUID(rb.id))
    elif rule == "maintenance":
        await conn.execute("UPDATE servers SET status = 'maintenance' WHERE name = 'w'")
    rows = await conn.fetch(Q.claim_jobs_fast, "w", 5, 0)
    assert len(rows) == 1 and rows[0]["job_id"] is None  # "ask the full claim"
    assert await conn.fetchval("SELECT status FROM jobs WHERE id = $1",
                               uuid.UUID(job.id)) == "queued"
    assert await conn.fetchval("SELECT count(*) FROM instances") == 0


async def test_the_lean_claim_keeps_the_claim_rules_of_the_common_case(
    conn: asyncpg.Connection,
) -> None:
    rb = await _one_runbook(conn)
    other = await _one_runbook(conn, "Other")
    await conn.execute(_SERVER, "w")
    targeted = await start_job(conn, rb)
    await conn.execute("UPDATE jobs SET target_server = 'elsewhere' WHERE id = $1",
                       uuid.UUID(targeted.id))
    later = await start_job(conn, rb)
    await conn.execute("UPDATE jobs SET not_before = now() + interval '1 hour' WHERE id = $1",
                       uuid.UUID(later.id))
    disabled = await start_job(conn, other)
    await conn.execute("UPDATE runbooks SET disabled_at = now() WHERE id = $1",
                       uuid.UUID(other.id))
    low = await start_job(conn, rb)
    high = await start_job(conn, rb)
    await conn.execute("UPDATE jobs SET priority = 5 WHERE id = $1", uuid.UUID(high.id))
    mine = await start_job(conn, rb)
    await conn.execute("UPDATE jobs SET target_server = 'w' WHERE id = $1",
                       uuid.UUID(mine.id))
    rows = await conn.fetch(Q.claim_jobs_fast, "w", 10, 0)
    assert [r["job_id"] for r in rows] == [high.id, low.id, mine.id]
    left = {r["id"] for r in await conn.fetch(
        "SELECT id::text AS id FROM jobs WHERE status = 'queued'")}
    assert left == {targeted.id, later.id, disabled.id}
    # a server without the runbook's activity types claims nothing (and is told so)
    await start_job(conn, rb)
    await conn.execute("INSERT INTO servers (name, status, capacity, activity_types)"
                       " VALUES ('bare', 'up', 9, '{}')")
    assert await conn.fetch(Q.claim_jobs_fast, "bare", 10, 0) == []


async def test_a_takeover_writes_the_claim_events_its_owner_never_wrote(
    dsn: str, pool: asyncpg.Pool,
) -> None:
    job, _ = await _lean_claimed(pool, "dead")
    async with pool.acquire() as conn:
        # then it dies before its first group commit: its heartbeat lapses
        await conn.execute(
            "UPDATE servers SET heartbeat_at = now() - interval '1 hour' WHERE name = 'dead'")
    async with running_server(dsn, server_name="alive"):
        done = await wait_job(pool, job.id)
    assert done.status == "success" and done.server == "alive"
    async with pool.acquire() as conn:
        events = await _events(conn, job.id)
    assert [e[:2] for e in events[:5]] == [
        ("job", "queued"), ("job", "running"), ("instance", "running"),
        ("instance", "running"), ("activity", "running")]
    assert events[1][2] == {"claimed_by": "dead"}
    assert events[2][2] == {"server": "dead", "epoch": 1}
    assert events[3][2]["taken_over_from"] == "dead" and events[3][2]["epoch"] == 2
    assert [e[:2] for e in events].count(("job", "running")) == 1


async def test_a_server_claims_leanly_then_fully_when_an_assignment_appears(
    dsn: str, pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        rb = await _one_runbook(conn)
    # claimed, not pushed to the idle server (the push is test_push.py's)
    async with running_server(dsn, server_name="s1", accept_pushes=False) as srv:
        async with pool.acquire() as conn:
            lean = await start_job(conn, rb)
        assert (await wait_job(pool, lean.id)).status == "success"
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO runbook_servers (runbook_id, position, server_name)"
                               " VALUES ($1, 0, 's1')", uuid.UUID(rb.id))
            full = await start_job(conn, rb)
        assert (await wait_job(pool, full.id)).status == "success"
        assert srv.claimed == 2
    async with pool.acquire() as conn:
        for job in (lean, full):
            kinds = [e[:2] for e in await _events(conn, job.id)]
            assert kinds[:3] == [("job", "queued"), ("job", "running"),
                                 ("instance", "running")]
            assert kinds.count(("job", "running")) == 1
