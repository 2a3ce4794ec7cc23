"""Primary and standbys as real processes: takeover after SIGKILL, order, exactly-once effects."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from orch.db.jobs import request_stop
from orch.errors import Conflict
from tests.integration.failover.pack import count, install
from tests.integration.failover.procs import (
    HEARTBEAT,
    TIMEOUT,
    Fleet,
    assign,
    effect,
    instance_row,
    lines,
    register,
    run_rows,
    takeovers,
)
from tests.integration.helpers import check_in, eventually, runbook_doc, start, start_job, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _pack() -> None:
    install()


def chain(name: str, fx: Path, gate: Path) -> dict:  # type: ignore[type-arg]
    """start → e1 (effect) → r1 (rerunnable, held at the gate) → e2 (effect) → r2."""
    return runbook_doc(name, [
        start(),
        effect("e1", fx),
        effect("r1", fx, gate=gate, rerunnable=True),
        effect("e2", fx),
        effect("r2", fx, rerunnable=True),
    ])


async def test_primary_runs_while_alive_then_the_first_standby_takes_over(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    async with pool.acquire() as conn:
        rb = await check_in(conn, chain("Chain", fx, gate))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "sa", "sb")
        await assign(pool, rb, "p", "sa", "sb")

        # While the primary lives it runs every job.
        gate.touch()
        async with pool.acquire() as conn:
            early = [await start_job(conn, rb) for _ in range(5)]
        for job in early:
            done = await wait_job(pool, job.id, timeout=30)
            assert (done.status, done.server) == ("success", "p"), fleet.logs()

        # Jobs held in flight at r1 on the primary; then the primary dies.
        gate.unlink()
        async with pool.acquire() as conn:
            held = [await start_job(conn, rb) for _ in range(4)]
        for job in held:
            await eventually(lambda j=job: lines(fx, j.id, "r1", 1), timeout=30)
        fleet["p"].kill()
        killed = time.time()
        gate.touch()
        for job in held:
            done = await wait_job(pool, job.id, timeout=30)
            assert (done.status, done.server) == ("success", "sa"), fleet.logs()

    effects = count(fx)
    for job in held:
        inst = await instance_row(pool, job.id)
        assert inst is not None and inst["epoch"] == 2
        # Nothing that finished runs again; the run in flight (rerunnable) runs again.
        assert [effects.get((job.id, a), 0) for a in ("e1", "r1", "e2", "r2")] == [1, 2, 1, 1]
        assert await run_rows(pool, inst["id"]) == [
            ("start", "success"), ("e1", "success"), ("r1", "success"),
            ("e2", "success"), ("r2", "success")]
        (taken,) = await takeovers(pool, inst["id"])
        assert taken["server"] == "sa"
        assert taken["data"]["taken_over_from"] == "p" and taken["data"]["reason"] == "down"
    for job in early:
        assert [effects[(job.id, a)] for a in ("e1", "r1", "e2", "r2")] == [1, 1, 1, 1]
    # One peer marked the primary down, once; the takeover followed its lapse promptly.
    downs = await pool.fetch(
        "SELECT at, data FROM events WHERE kind = 'server' AND server = 'p'"
        " AND status = 'down'")
    assert len(downs) == 1
    last_beat = downs[0]["data"]["last_heartbeat"]
    first = min([(await takeovers(pool, (await instance_row(pool, j.id))["id"]))[0]["at"]
                 for j in held])
    from datetime import datetime

    lapse = (first - datetime.fromisoformat(last_beat)).total_seconds()
    # timeout + one heartbeat of the noticing peer, with room for a loaded machine
    assert lapse < TIMEOUT + HEARTBEAT + 2.0, lapse
    assert first.timestamp() > killed - HEARTBEAT - 0.5


async def test_standbys_in_order_and_the_primary_again_once_back(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    async with pool.acquire() as conn:
        rb = await check_in(conn, chain("Order", fx, gate))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "sa", "sb")
        await assign(pool, rb, "p", "sa", "sb")
        async with pool.acquire() as conn:
            held = [await start_job(conn, rb) for _ in range(3)]
        for job in held:
            await eventually(lambda j=job: lines(fx, j.id, "r1", 1), timeout=30)
        # Primary and first standby die together: the second standby takes over.
        fleet["p"].kill()
        fleet["sa"].kill()
        gate.touch()
        for job in held:
            done = await wait_job(pool, job.id, timeout=30)
            assert (done.status, done.server) == ("success", "sb"), fleet.logs()

        async def runs_on(expected: str) -> None:
            async with pool.acquire() as conn:
                job = await start_job(conn, rb)
            done = await wait_job(pool, job.id, timeout=30)
            assert (done.status, done.server) == ("success", expected), fleet.logs()

        await runs_on("sb")
        # The first standby comes back: it outranks the second.
        fleet["sa"].start()
        await fleet["sa"].ready(pool)
        await runs_on("sa")
        # The primary comes back: it runs the runbook's jobs again.
        fleet["p"].start()
        await fleet["p"].ready(pool)
        await runs_on("p")
    effects = count(fx)
    for job in held:
        assert [effects[(job.id, a)] for a in ("e1", "e2")] == [1, 1]


async def test_a_non_rerunnable_run_in_flight_is_interrupted_and_its_failure_path_runs_once(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    doc = runbook_doc("Interrupted", [
        start(), effect("e1", fx, gate=gate), effect("ok", fx), effect("handler", fx),
    ], links=[("start", "e1"), ("e1", "ok"), ("e1", "handler")])
    doc["links"][2]["include"] = [{"data": "Status", "op": "equals", "value": "failed"}]
    async with pool.acquire() as conn:
        rb = await check_in(conn, doc)
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "sa")
        await assign(pool, rb, "p", "sa")
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        await eventually(lambda: lines(fx, job.id, "e1", 1), timeout=30)
        fleet["p"].kill()
        gate.touch()  # were e1 run again, it would finish now
        done = await wait_job(pool, job.id, timeout=30)
    assert (done.status, done.server) == ("success", "sa")  # the failure was handled
    effects = count(fx)
    assert effects.get((job.id, "e1")) == 1
    assert effects.get((job.id, "handler")) == 1
    assert (job.id, "ok") not in effects
    inst = await instance_row(pool, job.id)
    assert inst is not None
    row = await pool.fetchrow(
        "SELECT status, published FROM activity_runs WHERE instance_id = $1"
        " AND activity = 'e1'", uuid.UUID(inst["id"]))
    assert row["status"] == "interrupted"
    assert row["published"][0]["ErrorSummary"] == "interrupted: server lost"
    assert row["published"][0]["Status"] == "failed"


async def test_stop_while_the_owner_is_dead_and_duplicate_and_late_stops(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    fx, gate = tmp_path / "effects", tmp_path / "gate"
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Stop", [
            start(), effect("e1", fx, gate=gate), effect("e2", fx)]))
    async with Fleet(dsn) as fleet:
        await fleet.start(pool, "p", "other")
        await assign(pool, rb, "p")  # only p may run it
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        await eventually(lambda: lines(fx, job.id, "e1", 1), timeout=30)
        fleet["p"].kill()
        async with pool.acquire() as conn:
            first = await request_stop(conn, job.id)
            again = await request_stop(conn, job.id)  # a duplicate changes nothing
        assert first.status == again.status == "running"
        assert first.stop_requested_at == again.stop_requested_at is not None
        # Nobody assigned is alive, yet the stop is recorded: any server may take a
        # stop-requested instance over, just to stop it.
        done = await wait_job(pool, job.id, timeout=30)
        assert (done.status, done.server) == ("stopped", "other"), fleet.logs()
        async with pool.acquire() as conn:
            with pytest.raises(Conflict):
                await request_stop(conn, job.id)  # a finished job: 409 in the API
    inst = await instance_row(pool, job.id)
    assert inst is not None and inst["status"] == "stopped"
    assert await run_rows(pool, inst["id"]) == [("start", "success"), ("e1", "interrupted")]
    assert count(fx) == {(job.id, "e1"): 1}
    requests = await pool.fetchval(
        "SELECT count(*) FROM events WHERE job_id = $1 AND data ? 'stop_requested'",
        uuid.UUID(job.id))
    assert requests == 1
    (taken,) = await takeovers(pool, inst["id"])
    assert taken["data"]["reason"] == "down" and taken["server"] == "other"


async def test_assignment_may_name_only_registered_servers(pool: asyncpg.Pool) -> None:
    from orch.db.assignment import AssignmentInvalid, set_runbook_servers

    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Names", [start()]))
        await register(pool, "known")
        with pytest.raises(AssignmentInvalid) as err:
            await set_runbook_servers(conn, uuid.UUID(rb.id), ["known", "typo"], actor=None)
        assert err.value.path == "$.servers[1]"
        with pytest.raises(AssignmentInvalid):
            await set_runbook_servers(conn, uuid.UUID(rb.id), ["known", "known"], actor=None)


async def test_claims_follow_a_folder_assignment_and_a_runbook_own_list_wins(
    dsn: str, pool: asyncpg.Pool
) -> None:
    from orch.db.assignment import set_folder_servers, set_runbook_servers
    from tests.integration.helpers import compare, running_server

    async with pool.acquire() as conn:
        inherited = await check_in(conn, runbook_doc("Inherited", [start(), compare("a")],
                                                     folder="/Ops/Svc"))
        own = await check_in(conn, runbook_doc("Own", [start(), compare("a")],
                                               folder="/Ops/Svc"))
        free = await check_in(conn, runbook_doc("Free", [start(), compare("a")],
                                                folder="/Elsewhere"))
    async with running_server(dsn, server_name="p"), running_server(dsn, server_name="q"):
        async with pool.acquire() as conn:
            await set_folder_servers(conn, "/Ops", ["q"], actor=None)
            await set_runbook_servers(conn, uuid.UUID(own.id), ["p"], actor=None)
            jobs = {rb.name: [await start_job(conn, rb) for _ in range(6)]
                    for rb in (inherited, own, free)}
        ran = {name: {(await wait_job(pool, j.id)).server for j in js}
               for name, js in jobs.items()}
    assert ran["Inherited"] == {"q"}  # from /Ops
    assert ran["Own"] == {"p"}  # its own list wins
    assert ran["Free"] <= {"p", "q"}  # no assignment: anyone
