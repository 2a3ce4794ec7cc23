"""ctx.services on PostgreSQL: counters atomic across servers, variables, schedules."""

from __future__ import annotations

import asyncio

import asyncpg

from activities.counters import get_counter, modify_counter
from activities.schedules import check_schedule
from activities.variables import get_variable, set_variable
from orch.db.connect import create_pool
from orch.db.services import pg_services
from orch.sdk.testing import run_activity
from tests.integration.helpers import runbook_doc, start, start_job, wait_job
from tests.integration.packs.helpers import check_in_with, core_registry, server


async def test_counters_are_atomic_across_connections(dsn: str) -> None:
    pools = [await create_pool(dsn, min_size=2, max_size=4) for _ in range(2)]
    try:
        services = [pg_services(p)[0] for p in pools]
        results = await asyncio.gather(*(
            run_activity(modify_counter, {"name": "Hits", "action": "increment", "value": 1},
                         services=services[i % 2])
            for i in range(60)
        ))  # fmt: skip
        assert all(r.status == "success" for r in results), [r.error for r in results]
        values = sorted(int(r.items[0]["Value"]) for r in results)
        assert values == list(range(1, 61))  # every increment saw a distinct value
        r = await run_activity(get_counter, {"name": "Hits"}, services=services[1])
        assert r.items == [{"Name": "Hits", "Value": "60"}]
        async with pools[0].acquire() as conn:
            await conn.execute("UPDATE counters SET default_value = 5 WHERE name = 'Hits'")
        for action, value, want in [("decrement", 10, "50"), ("set", -2, "-2"), ("reset", 0, "5")]:
            props = {"name": "Hits", "action": action, "value": value}
            r = await run_activity(modify_counter, props, services=services[0])
            assert r.items[0]["Value"] == want
        r = await run_activity(get_counter, {"name": "Missing"}, services=services[0])
        assert (r.status, r.error) == ("failed", "no counter named 'Missing'")
    finally:
        for p in pools:
            await p.close()


async def test_counters_from_runbooks_on_two_servers(pool: asyncpg.Pool, dsn: str) -> None:
    reg = core_registry()
    doc = runbook_doc("Bump", [start(), {"id": "bump", "type": "modify_counter",
                                         "properties": {"name": "Shared"}}])  # fmt: skip
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, doc, reg)
    async with server(dsn, "a", reg), server(dsn, "b", reg):
        async with pool.acquire() as conn:
            jobs = [await start_job(conn, rb, registry=reg) for _ in range(30)]
        ended = [await wait_job(pool, j.id) for j in jobs]
    assert {j.status for j in ended} == {"success"}
    assert {j.server for j in ended} <= {"a", "b"}
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT value FROM counters WHERE name = 'Shared'") == 30


async def test_variables_and_schedules(pool: asyncpg.Pool) -> None:
    services, _ = pg_services(pool)
    r = await run_activity(set_variable, {"name": "Env", "value": "prod"}, services=services)
    assert r.status == "success", r.error
    r = await run_activity(get_variable, {"name": "Env"}, services=services)
    assert r.items == [{"Name": "Env", "Value": "prod", "Exists": "true"}]
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO variables (name, value, encrypted) VALUES ('Secret', 'xx', true)")
        await conn.execute(
            "INSERT INTO schedules (name, definition) VALUES ('Weekdays', $1)",
            {"days_of_week": ["mon", "tue", "wed", "thu", "fri"]},
        )
    r = await run_activity(set_variable, {"name": "Secret", "value": "plain"}, services=services)
    assert (r.status, r.error) == (
        "failed", "variable 'Secret' is encrypted: set it through the API")
    props = {"schedule": "Weekdays", "time": "2026-11-28T10:00:00Z"}
    r = await run_activity(check_schedule, props, services=services)
    assert r.status == "success", r.error
    assert (r.items[0]["Inside"], r.items[0]["NextInside"]) == ("false", "2026-11-30T00:00:00Z")
