"""No writable primary: the standby is never promoted, or the primary stops answering.

The gateway says ``degraded`` (with for how long) on ``/health``, is not ready,
answers API calls 503 — within its deadline, even when the database answers
nothing at all — and recovers by itself when the old primary returns; so does
the runbook server. Migrations refuse to run on a standby.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from orch.db.connect import connect
from orch.db.migrate import MigrationRefused, migrate
from tests.integration.failover.pack import install
from tests.integration.failover.procs import ROOT, Fleet
from tests.integration.helpers import check_in, compare, runbook_doc, start
from tests.integration.replication.cluster import PgPair
from tests.integration.replication.conftest import Gateway, retrying, until

pytestmark = pytest.mark.slow


async def test_a_standby_never_promoted_degraded_then_recovered_when_the_primary_returns(
    pair: PgPair, pool: asyncpg.Pool, gateway: object,
) -> None:
    install()
    gw: Gateway = await gateway(server_timeout_seconds=1.0)  # type: ignore[operator]
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Later", [start(), compare("c")]))
    async with Fleet(pair.url) as fleet:
        await fleet.start(pool, "a")
        status, body = await gw.call("GET", "/health/ready")
        assert (status, body["ready"], body["runbook_servers"]) == (200, True, 1), body

        await asyncio.to_thread(pair.a.stop, "immediate")  # the standby stays a standby
        status, body = await gw.call("GET", "/api/v1/jobs")
        assert status == 503 and body["error"]["code"] == "database-unavailable", body
        status, health = await gw.call("GET", "/health")
        assert status == 200 and health["status"] == "degraded", health  # alive, degraded
        assert health["database"] == "unavailable" and health["degraded_seconds"] >= 0
        assert health["error"]

        async def longer() -> bool:  # the same outage, measured from its start
            _, again = await gw.call("GET", "/health")
            return again["degraded_seconds"] > health["degraded_seconds"]

        await until(longer)
        status, ready = await gw.call("GET", "/health/ready")
        assert status == 503 and not ready["ready"], ready
        assert any("database" in w for w in ready["waiting_for"]), ready

        await asyncio.to_thread(pair.a.start)  # the old primary returns

        async def healthy() -> bool:
            _, h = await gw.call("GET", "/health")
            return h["status"] == "ok" and h["degraded_seconds"] is None

        await until(healthy)
        status, job = await gw.call("POST", "/api/v1/jobs", {"runbook": rb.id})
        assert status == 201, job

        async def done() -> bool:
            return await pool.fetchval("SELECT status FROM jobs WHERE id = $1",
                                       uuid.UUID(job["id"])) == "success"

        await until(done)  # the runbook server recovered too
        status, ready = await gw.call("GET", "/health/ready")
        assert status == 200 and ready["ready"], ready
        assert "released back to the pool" not in fleet.logs()


async def test_a_primary_that_answers_nothing_gets_503s_within_the_deadline(
    pair: PgPair, gateway: object,
) -> None:
    """SIGSTOP: no reset, no refusal — the sessions just hang. Every request still ends."""
    gw: Gateway = await gateway(request_timeout_seconds=1.0)  # type: ignore[operator]
    status, _ = await gw.call("GET", "/api/v1/jobs")
    assert status == 200
    await asyncio.to_thread(pair.a.pause)
    try:
        status, body = await gw.call("GET", "/api/v1/jobs")
        assert status == 503 and body["error"]["code"] == "timeout", body
        status, health = await gw.call("GET", "/health")
        assert (status, health["status"]) == (200, "degraded"), health
    finally:
        await asyncio.to_thread(pair.a.resume)

    async def answers() -> bool:
        s, _ = await gw.call("GET", "/api/v1/jobs")
        return s == 200

    await until(answers)


async def test_migrations_refuse_to_run_on_a_standby(pair: PgPair) -> None:
    # a URL naming the standby only: no writable host
    with pytest.raises(MigrationRefused, match="standby"):
        await migrate(pair.b.dsn)
    # a session that accepts any host, on the standby: pg_is_in_recovery()
    conn = await connect(pair.b.dsn, target_session_attrs="any")
    try:
        with pytest.raises(MigrationRefused, match=r"pg_is_in_recovery\(\)"):
            await migrate(conn)
    finally:
        await conn.close()
    # the CLI says so in one line, exit status 1
    env = dict(os.environ, ORCH_DATABASE_URL=pair.b.dsn)
    done = await asyncio.to_thread(
        subprocess.run, [str(Path(sys.executable).parent / "orch"), "db", "migrate"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "standby" in done.stderr and "Traceback" not in done.stderr, done.stderr
    # the multi-host URL reaches the primary: nothing to do, the version stands
    version = await retrying(lambda: migrate(pair.url))
    assert version >= 13


async def test_every_tcp_session_has_keepalives(pool: asyncpg.Pool) -> None:
    """A host gone without a reset is noticed by the kernel (about 30 s), not never."""
    import socket

    async with pool.acquire() as conn:
        sock = conn._con._transport.get_extra_info("socket")  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 30_000
