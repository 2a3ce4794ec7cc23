"""Pushed jobs (issue 21, pickup): a job started while a runbook server is idle is
inserted claimed by it, with its instance, and handed over by ``orch_push``;
the server starts it from the notification (orch/server/pushes.py). Anything
beyond the lean claim's case, a busy server, or a server that takes no pushes
leaves the job queued for the claim."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from orch.db.jobs import JobRow, request_stop
from orch.server.listener import Listener
from orch.server.server import RunbookServer
from orch.sql import Q
from tests.integration.helpers import (
    check_in,
    compare,
    eventually,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait,
    wait_job,
)


async def _accepting(pool: asyncpg.Pool, server: str) -> None:
    """Until ``server``'s heartbeat says it takes pushes."""

    async def probe() -> bool:
        return bool(await pool.fetchval(
            "SELECT push_until > clock_timestamp() FROM servers WHERE name = $1", server))

    await eventually(probe)


async def _events(pool: asyncpg.Pool, job_id: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT kind, status, server, activity, data FROM events WHERE job_id = $1 ORDER BY seq",
        uuid.UUID(job_id))
    return [(r["kind"], r["status"], r["server"], r["activity"], r["data"]) for r in rows]


def _pushed(server: str, counter: str = "orch_server_jobs_pushed_total") -> float:
    return REGISTRY.get_sample_value(counter, {"server": server}) or 0.0


async def test_an_idle_server_is_pushed_the_job_by_its_start(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Pushed", [start(), compare("a")]))
    heard: list[str] = []
    pushes = asyncio.Event()

    def note(_c: object, _pid: int, channel: str, _payload: str) -> None:
        heard.append(channel)
        if channel == "orch_push":
            pushes.set()

    async with running_server(dsn, server_name="idle") as srv, pool.acquire() as watch:
        await watch.add_listener("orch_jobs", note)
        await watch.add_listener("orch_push", note)
        await _accepting(pool, "idle")
        assert (await pool.fetchrow(Q.api_server, "idle", 5.0))["accepts_pushes"] is True
        before = _pushed("idle")
        claimed = _pushed("idle", "orch_server_jobs_claimed_total")
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        # claimed by its own insert: running on 'idle', with its instance
        assert (job.status, job.server) == ("running", "idle")
        assert job.instance_id is not None and job.instance_ids == [job.instance_id]
        assert job.started_at is not None
        done = await wait_job(pool, job.id)
        await asyncio.wait_for(pushes.wait(), 10)
        assert heard == ["orch_push"]  # nobody else was woken to claim it
        assert _pushed("idle") == before + 1
        # a pushed job counts among the claimed ones too (claimed by its start)
        assert _pushed("idle", "orch_server_jobs_claimed_total") == claimed + 1
        assert srv.running_count == 0
        await watch.remove_listener("orch_jobs", note)
        await watch.remove_listener("orch_push", note)
    assert done.status == "success"
    events = await _events(pool, job.id)
    assert events[:3] == [
        ("job", "queued", None, None,
         {"created_by": None, "parent_job_id": None, "target_server": None,
          "pushed_to": "idle"}),
        ("job", "running", "idle", None, {"claimed_by": "idle"}),
        ("instance", "running", "idle", None, {"server": "idle", "epoch": 1}),
    ]
    assert [e[3] for e in events if e[0] == "activity"] == ["start", "start", "a", "a"]
    assert events[-1][:2] == ("job", "success")
    instance = await pool.fetchrow("SELECT server, epoch, status FROM instances WHERE job_id = $1",
                                   uuid.UUID(job.id))
    assert tuple(instance) == ("idle", 1, "success")


async def test_a_busy_server_is_not_pushed_a_second_job(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Busy", [start(), wait("w", 0.5)]))
    async with running_server(dsn, server_name="busy"):
        await _accepting(pool, "busy")
        async with pool.acquire() as conn:
            first = await start_job(conn, rb)
            second = await start_job(conn, rb)
        assert first.status == "running"
        assert (second.status, second.server, second.instance_id) == ("queued", None, None)
        done = [await wait_job(pool, j.id) for j in (first, second)]
    assert [d.status for d in done] == ["success", "success"]
    assert done[1].server == "busy"  # claimed once the server was free
    queued = [(await _events(pool, j.id))[0] for j in (first, second)]
    assert [e[4].get("pushed_to") for e in queued] == ["busy", None]
    assert "pushed_to" not in queued[1][4]  # a queued job's event is as it was


async def _started(pool: asyncpg.Pool, rb: Any, params: dict[str, Any] | None = None,
                   **kw: Any) -> JobRow:
    async with pool.acquire() as conn:
        return await start_job(conn, rb, params, **kw)


async def test_a_start_pushes_only_within_the_lean_claims_rules(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Rules", [start(), compare("a")]))
        wide = await check_in(conn, runbook_doc("Wide", [start(["p"]), compare("a")]))
        other = await check_in(conn, runbook_doc("Other", [start(), compare("a")]))
    async with running_server(dsn, server_name="rules"):
        await _accepting(pool, "rules")
        # targeted elsewhere: queued (for a server that does not exist)
        away = await _started(pool, rb, target_server="elsewhere")
        assert away.status == "queued"
        # a queued job ahead of it: the new job does not jump the queue
        assert (await _started(pool, rb)).status == "queued"
        await pool.execute("UPDATE jobs SET status = 'stopped' WHERE id = $1",
                           uuid.UUID(away.id))
        await eventually(lambda: _all_ended(pool))
        # targeted at this server: pushed
        here = await _started(pool, rb, target_server="rules")
        assert (here.status, here.server) == ("running", "rules")
        await wait_job(pool, here.id)
        # parameters too large for a notification: queued, claimed
        big = await _started(pool, wide, params={"p": "x" * 6500})
        assert big.status == "queued"
        assert (await wait_job(pool, big.id)).status == "success"
        # so is a runbook whose path and name would not fit one (8,000 bytes)
        async with pool.acquire() as conn:
            long = await check_in(conn, runbook_doc("L" * 4000, [start(), compare("a")]))
        named = await _started(pool, long)
        assert named.status == "queued"
        assert (await wait_job(pool, named.id)).status == "success"
        # a runbook with an assignment anywhere: the full claim's rules apply
        await pool.execute("INSERT INTO runbook_servers (runbook_id, position, server_name)"
                           " VALUES ($1, 0, 'rules')", uuid.UUID(other.id))
        assigned = await _started(pool, rb)
        assert assigned.status == "queued"
        assert (await wait_job(pool, assigned.id)).status == "success"
        await pool.execute("DELETE FROM runbook_servers")
        # in maintenance: no push (and no claim)
        await pool.execute("UPDATE servers SET status = 'maintenance' WHERE name = 'rules'")
        parked = await _started(pool, rb)
        assert parked.status == "queued"
        await pool.execute("UPDATE jobs SET status = 'stopped' WHERE id = $1",
                           uuid.UUID(parked.id))


async def _all_ended(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")


async def test_a_server_that_takes_no_pushes_claims(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Claimed", [start(), compare("a")]))
    async with running_server(dsn, server_name="claims", accept_pushes=False) as srv:
        await eventually(lambda: _beat_after_listening(pool, "claims"))
        job = await _started(pool, rb)
        assert job.status == "queued"
        assert (await wait_job(pool, job.id)).status == "success"
        assert srv.claimed == 1
        assert (await pool.fetchrow(Q.api_server, "claims", 5.0))["accepts_pushes"] is False
    assert await pool.fetchval("SELECT push_until FROM servers WHERE name = 'claims'") is None


async def _beat_after_listening(pool: asyncpg.Pool, server: str) -> bool:
    return bool(await pool.fetchval(
        "SELECT heartbeat_at > started_at FROM servers WHERE name = $1", server))


async def test_a_push_missed_while_not_listening_is_read_back_and_run_once(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Missed", [start(), compare("a")]))
    async with running_server(dsn, server_name="deaf") as srv:
        await _accepting(pool, "deaf")
        listener = await _deaf(srv, "UNLISTEN orch_push")
        first_pid = listener.backend_pid
        job = await _started(pool, rb)
        assert (job.status, job.server) == ("running", "deaf")
        # its listener's session ends: reconnected, the server reads the push back
        await pool.execute("SELECT pg_terminate_backend($1)", first_pid)
        done = await wait_job(pool, job.id)
        assert listener.backend_pid != first_pid
        # a finished push is not read back again by the next reconnect
        await _accepting(pool, "deaf")
        await pool.execute("SELECT pg_terminate_backend($1)", listener.backend_pid)
        await eventually(lambda: _listening_again(srv, pool))
        assert srv.running_count == 0
    assert done.status == "success"
    starts = await pool.fetchval(
        "SELECT count(*) FROM activity_runs a JOIN jobs j ON j.instance_id = a.instance_id"
        " WHERE j.id = $1 AND a.activity = 'start'", uuid.UUID(job.id))
    assert starts == 1
    claims = [e for e in await _events(pool, job.id) if e[:2] == ("job", "running")]
    assert len(claims) == 1


async def test_a_stop_asked_while_a_push_was_missed_is_obeyed(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Stoppable", [start(), wait("w", 5.0)]))
    async with running_server(dsn, server_name="late", poll_seconds=600.0) as srv:
        await _accepting(pool, "late")
        listener = await _deaf(srv, "UNLISTEN orch_push; UNLISTEN orch_stops")
        job = await _started(pool, rb)
        assert job.status == "running"
        async with pool.acquire() as conn:
            await request_stop(conn, job.id)
        await pool.execute("SELECT pg_terminate_backend($1)", listener.backend_pid)
        # read back at the reconnect, then stopped: long before its 5 s wait ends
        done = await wait_job(pool, job.id, timeout=4.0)
    assert done.status == "stopped"


async def _deaf(srv: RunbookServer, unlisten: str) -> Listener:
    """The server's listener, deaf from now on to the channels ``unlisten`` (UNLISTEN
    statements) names: what is notified there meanwhile, it misses."""
    listener = srv.listener
    assert listener is not None and listener.conn is not None
    await listener.conn.execute(unlisten)
    return listener


async def _drain(pool: asyncpg.Pool, server: str) -> None:
    """Drain ``server`` as an operator would, until it sits in maintenance."""
    await pool.execute("UPDATE servers SET status = 'draining' WHERE name = $1", server)
    await pool.execute("SELECT pg_notify('orch_servers', $1)", server)

    async def maintained() -> bool:
        return await pool.fetchval("SELECT status FROM servers WHERE name = $1",
                                   server) == "maintenance"

    await eventually(maintained)


async def _released(pool: asyncpg.Pool, instance: uuid.UUID) -> bool:
    """The instance has no owner (handed back)."""
    return await pool.fetchval("SELECT server IS NULL FROM instances WHERE id = $1", instance)


async def _listening_again(srv: RunbookServer, pool: asyncpg.Pool) -> bool:
    listener = srv.listener
    if listener is None or not listener.connected.is_set() or srv._adopt.is_set():
        return False
    # the read-back ran (the claimer cleared the flag) on a live session
    return bool(await pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                    listener.backend_pid))


async def test_a_job_pushed_to_a_server_that_died_is_taken_over(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Orphan", [start(), compare("a")]))
        # a server that took pushes, then died: its row still says so
        await conn.execute(
            "INSERT INTO servers (name, status, capacity, activity_types, push_until)"
            " SELECT 'ghost', 'up', 9, array_agg(DISTINCT t), now() + interval '1 hour'"
            "   FROM runbook_versions, unnest(activity_types) AS t")
        job = await start_job(conn, rb)
    assert (job.status, job.server) == ("running", "ghost")
    await pool.execute("UPDATE servers SET heartbeat_at = now() - interval '1 hour'"
                       " WHERE name = 'ghost'")
    async with running_server(dsn, server_name="heir", server_timeout_seconds=1.0,
                              heartbeat_seconds=0.2):
        done = await wait_job(pool, job.id)
    assert done.status == "success"
    events = await _events(pool, job.id)
    # the claim events its owner never wrote, then the takeover
    assert [e[:3] for e in events[1:4]] == [
        ("job", "running", "ghost"), ("instance", "running", "ghost"),
        ("instance", "running", "heir")]
    assert events[3][4]["reason"] == "down"


async def test_a_push_the_server_cannot_take_is_handed_back(
    dsn: str, pool: asyncpg.Pool
) -> None:
    """A push that raced a claim filling the server: released, run once there is room."""
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Full", [start(), wait("w", 0.5)]))
    async with running_server(dsn, server_name="full", capacity=1) as srv:
        first = await _started(pool, rb)
        await eventually(lambda: _status_is(pool, first.id, "running"))
        second = await _started(pool, rb)
        assert second.status == "queued"
        # what a push that raced the first job's claim leaves
        instance = await _push_by_hand(pool, rb, second, "full")
        done = [await wait_job(pool, j.id) for j in (first, second)]
        assert srv.running_count == 0
    assert [d.status for d in done] == ["success", "success"]
    taken = await pool.fetchrow("SELECT server, epoch FROM instances WHERE id = $1", instance)
    assert tuple(taken) == ("full", 2)  # released, then taken over once there was room
    overlap = await pool.fetchval(
        "SELECT count(*) FROM activity_runs a, activity_runs b"
        " WHERE a.instance_id = $1 AND b.instance_id = $2 AND a.activity = 'w'"
        "   AND b.activity = 'w' AND b.started_at < a.ended_at",
        uuid.UUID(done[0].instance_id or ""), instance)
    assert overlap == 0  # capacity 1 was honoured


async def _push_by_hand(pool: asyncpg.Pool, rb: Any, job: JobRow, server: str) -> uuid.UUID:
    """What a start that pushed ``job`` to ``server`` leaves: the job claimed by it,
    its instance, and the notification."""
    instance = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE jobs SET status = 'running', claimed_by = $3, instance_id = $2,"
            " started_at = clock_timestamp(), waiting_reason = NULL WHERE id = $1",
            uuid.UUID(job.id), instance, server)
        await conn.execute(
            "INSERT INTO instances (id, job_id, server, status) VALUES ($1, $2, $3, 'running')",
            instance, uuid.UUID(job.id), server)
        await conn.execute("SELECT pg_notify('orch_push', $1)", json.dumps({
            "server": server, "job_id": job.id, "instance_id": str(instance),
            "runbook_id": rb.id, "runbook_version": rb.current_version,
            "runbook_path": rb.path, "runbook_name": rb.name, "parameters": {},
            "created_by": None}))
    return instance


async def test_a_push_to_a_drained_server_is_handed_back_unstarted(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Late", [start(), compare("a")]))
    async with running_server(dsn, server_name="leaving", accept_pushes=False) as srv:
        job = await _started(pool, rb, target_server="nobody")  # queued, for no server
        await _drain(pool, "leaving")
        instance = await _push_by_hand(pool, rb, job, "leaving")
        await eventually(lambda: _released(pool, instance))
        assert srv.running_count == 0
    runs = await pool.fetchval("SELECT count(*) FROM activity_runs WHERE instance_id = $1",
                               instance)
    assert runs == 0
    released_by = await pool.fetchval(
        "SELECT data->>'released_by' FROM events WHERE instance_id = $1 AND kind = 'instance'",
        instance)
    assert released_by == "leaving"


async def test_a_push_read_back_in_maintenance_is_handed_back_unstarted(
    dsn: str, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Parked", [start(), compare("a")]))
    async with running_server(dsn, server_name="parked", accept_pushes=False) as srv:
        job = await _started(pool, rb, target_server="nobody")
        await _drain(pool, "parked")
        listener = await _deaf(srv, "UNLISTEN orch_push")
        instance = await _push_by_hand(pool, rb, job, "parked")
        await pool.execute("SELECT pg_terminate_backend($1)", listener.backend_pid)
        # read back at the reconnect, and handed back
        await eventually(lambda: _released(pool, instance))
        assert srv.running_count == 0
    assert await pool.fetchval("SELECT count(*) FROM activity_runs WHERE instance_id = $1",
                               instance) == 0


async def _status_is(pool: asyncpg.Pool, job_id: str, status: str) -> bool:
    return await pool.fetchval("SELECT status FROM jobs WHERE id = $1",
                               uuid.UUID(job_id)) == status


@pytest.mark.parametrize("payload", ["{", json.dumps({"server": "x"}), "[]"])
async def test_a_malformed_push_is_ignored(
    dsn: str, pool: asyncpg.Pool, payload: str
) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("After", [start(), compare("a")]))
    async with running_server(dsn, server_name="calm") as srv:
        await _accepting(pool, "calm")
        await pool.execute("SELECT pg_notify('orch_push', $1)", payload)
        job = await _started(pool, rb)
        assert (await wait_job(pool, job.id)).status == "success"
        assert srv.running_count == 0


async def test_a_push_to_another_server_is_left_alone(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Theirs", [start(), compare("a")]))
    async with running_server(dsn, server_name="mine") as srv:
        await _accepting(pool, "mine")
        before = _pushed("mine")
        theirs = await _started(pool, rb, target_server="other")  # queued, for 'other'
        instance = await _push_by_hand(pool, rb, theirs, "other")
        job = await _started(pool, rb)  # pushed to 'mine': notified, and heard, after it
        assert job.server == "mine"
        assert (await wait_job(pool, job.id)).status == "success"
        assert srv.running_count == 0
        # only its own push taken (the other's writes would be fenced anyway)
        assert _pushed("mine") == before + 1
    assert await pool.fetchval("SELECT count(*) FROM activity_runs WHERE instance_id = $1",
                               instance) == 0
    assert await pool.fetchval("SELECT server FROM instances WHERE id = $1", instance) == "other"
