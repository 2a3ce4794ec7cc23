"""Monitor runbooks on a runbook server: one long-lived job, one instance per trigger."""

from __future__ import annotations

import uuid

import asyncpg

from orch.db.jobs import get_job, request_stop
from tests.integration.helpers import eventually, runbook_doc, start_job, wait_job
from tests.integration.packs.helpers import check_in_with, core_registry, server


def ticker(name: str, **props: object) -> dict[str, object]:
    return runbook_doc(
        name,
        [
            {"id": "tick", "type": "monitor_date_time",
             "properties": {"interval_seconds": 0.15, **props}},
            {"id": "count", "type": "modify_counter",
             "properties": {"name": f"{name}-ticks", "action": "increment"}},
            {"id": "echo", "type": "compare_values",
             "properties": {"value": "{tick.TriggerCount}", "op": "gt", "to": "0"}},
        ],
    )  # fmt: skip


async def _instances(pool: asyncpg.Pool, job_id: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT id::text, status, triggered_by::text FROM instances WHERE job_id = $1 "
            "ORDER BY started_at",
            uuid.UUID(job_id),
        )


async def test_each_trigger_is_an_instance_and_stop_ends_everything(pool: asyncpg.Pool) -> None:
    reg = core_registry()
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, ticker("Ticker"), reg)
        assert rb.is_monitor
    async with server(pool, "m1", reg):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)

        async def three_done() -> list[asyncpg.Record] | None:
            rows = await _instances(pool, job.id)
            done = [r for r in rows if r["triggered_by"] and r["status"] == "success"]
            return rows if len(done) >= 3 else None

        rows = await eventually(three_done)
        monitor = [r for r in rows if r["triggered_by"] is None]
        assert len(monitor) == 1 and monitor[0]["status"] == "running"
        assert all(r["triggered_by"] == monitor[0]["id"] for r in rows if r["triggered_by"])
        async with pool.acquire() as conn:
            running = await get_job(conn, job.id)
            assert running is not None and running.status == "running"
            assert running.instance_id != monitor[0]["id"]  # the latest trigger's instance
            # each trigger instance ran the rest of the runbook with the trigger's data
            runs = await conn.fetch(
                "SELECT a.activity, a.status, a.published FROM activity_runs a "
                "WHERE a.instance_id = $1 ORDER BY a.seq", uuid.UUID(rows[1]["id"]))
            assert [(r["activity"], r["status"]) for r in runs] == [
                ("tick", "success"), ("count", "success"), ("echo", "success")]
            assert runs[0]["published"][0]["TriggerCount"] in {"1", "2"}
            assert runs[2]["published"][0]["Result"] == "true"
            await request_stop(conn, job.id)
        ended = await wait_job(pool, job.id)
        assert ended.status == "stopped"

        async def all_ended() -> list[asyncpg.Record] | None:
            rows = await _instances(pool, job.id)
            return rows if all(r["status"] != "running" for r in rows) else None

        rows = await eventually(all_ended)
        statuses = {r["status"] for r in rows if r["triggered_by"]}
        assert statuses <= {"success", "stopped"}
        assert [r["status"] for r in rows if r["triggered_by"] is None] == ["stopped"]
        async with pool.acquire() as conn:
            ticks = await conn.fetchval("SELECT value FROM counters WHERE name = 'Ticker-ticks'")
            job_row = await get_job(conn, job.id)
        triggered = [r for r in rows if r["triggered_by"]]
        assert job_row is not None and len(job_row.instance_ids) == len(triggered) + 1
        assert ticks == sum(1 for r in triggered if r["status"] == "success") or ticks >= 3
        # no trigger after the stop: nothing new appears
        assert len(await _instances(pool, job.id)) == len(rows)


async def test_a_monitor_that_ends_ends_its_job(pool: asyncpg.Pool) -> None:
    reg = core_registry()
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, ticker("Twice", max_triggers=2), reg)
    async with server(pool, "m1", reg):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)
        ended = await wait_job(pool, job.id)
    assert ended.status == "success"
    rows = await _instances(pool, job.id)
    assert len([r for r in rows if r["triggered_by"]]) == 2
    assert all(r["status"] == "success" for r in rows)


async def test_a_monitor_handed_over_keeps_triggering(dsn: str, pool: asyncpg.Pool) -> None:
    reg = core_registry()
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, ticker("Moving"), reg)
    async with server(dsn, "first", reg, shutdown_grace_seconds=0):
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)

        async def two() -> bool:
            return len(await _instances(pool, job.id)) >= 3

        await eventually(two)
    # "first" handed everything over; "second" takes the monitor and its triggers over
    async with server(dsn, "second", reg):

        async def on_second() -> list[str] | None:
            async with pool.acquire() as conn:
                rows = await conn.fetch(
                    "SELECT server FROM instances WHERE job_id = $1 AND triggered_by IS NOT NULL "
                    "AND server = 'second' AND status = 'success'", uuid.UUID(job.id))
            return [r[0] for r in rows] if len(rows) >= 2 else None

        await eventually(on_second)
        async with pool.acquire() as conn:
            await request_stop(conn, job.id)
        assert (await wait_job(pool, job.id)).status == "stopped"

        async def all_ended() -> bool:
            rows = await _instances(pool, job.id)
            return all(r["status"] != "running" for r in rows)

        await eventually(all_ended)
    rows = await _instances(pool, job.id)
    monitors = [r for r in rows if r["triggered_by"] is None]
    assert len(monitors) == 1 and monitors[0]["status"] == "stopped"
