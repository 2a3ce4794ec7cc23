"""What wakes a runbook server's claimer: a server marked down notifies every
server once, and a heartbeat that marks nobody notifies nobody."""

from __future__ import annotations

import asyncio

import asyncpg

from orch.sql import Q


async def _notified(pool: asyncpg.Pool, statement: str, *args: object) -> list[str]:
    """The orch_instances notifications ``statement`` sent: a marker notified after it
    arrives after them (one session's commits reach a listener in order)."""
    got: list[str] = []
    marker = asyncio.Event()

    def heard(_conn: object, _pid: int, channel: str, _payload: str) -> None:
        if channel == "orch_wakeups_marker":
            marker.set()
        else:
            got.append(channel)

    async with pool.acquire() as listening, pool.acquire() as conn:
        await listening.add_listener("orch_instances", heard)
        await listening.add_listener("orch_wakeups_marker", heard)
        try:
            await conn.fetch(statement, *args)
            await conn.execute("NOTIFY orch_wakeups_marker")
            await asyncio.wait_for(marker.wait(), 10)
        finally:
            await listening.remove_listener("orch_instances", heard)
            await listening.remove_listener("orch_wakeups_marker", heard)
    return got


async def test_a_heartbeat_that_marks_nobody_down_notifies_nobody(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO servers (name, status, capacity, heartbeat_at)"
                           " VALUES ('alive', 'up', 1, now())")
    assert await _notified(pool, Q.mark_servers_down, 30.0) == []


async def test_marking_a_server_down_notifies_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO servers (name, status, capacity, heartbeat_at) VALUES"
            " ('gone-1', 'up', 1, now() - interval '1 hour'),"
            " ('gone-2', 'up', 1, now() - interval '1 hour')")
        # "nobody is marked down while the database has been up for less than the
        # timeout": a timeout below its uptime
        uptime = await conn.fetchval(
            "SELECT extract(epoch FROM now() - pg_postmaster_start_time())::float8")
    timeout = max(0.001, min(30.0, uptime / 2))
    assert await _notified(pool, Q.mark_servers_down, timeout) == ["orch_instances"]
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM servers WHERE name LIKE 'gone-%' AND status = 'down'") == 2
