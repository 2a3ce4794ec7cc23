"""Prometheus ``/metrics``: a runbook server's listener and the gateway's route (public,
token-protected, off); the named metrics are there and move when a job runs.

Counters live in the process' registry (shared by every test in it), so the
tests compare a scrape before and after, never absolute values or times.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from tests.integration.helpers import (
    check_in,
    compare,
    eventually,
    runbook_doc,
    running_server,
    start,
    start_job,
    wait_job,
)

TOKEN = "orch_metrics-test-token"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, await resp.text()


@contextlib.asynccontextmanager
async def gateway(pool: asyncpg.Pool, metrics: str) -> AsyncIterator[str]:
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=TOKEN, password="test-password")
    runner = web.AppRunner(make_app(Settings(metrics=metrics), pool), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_server_metrics_listener_moves_when_a_job_runs(dsn: str, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Metered", [start(), compare("a"), compare("b")]))
    # claimed, not pushed (a push has no claim to time: its metrics are test_push.py's)
    async with running_server(dsn, server_name="m1", metrics_port=0,
                              accept_pushes=False) as srv:
        port = await eventually(lambda: _port(srv))
        url = f"http://127.0.0.1:{port}/metrics"
        status, text = await scrape(url)
        assert status == 200
        before = parse(text)
        async with pool.acquire() as conn:
            job = await start_job(conn, rb)
        assert (await wait_job(pool, job.id)).status == "success"
        after = parse((await scrape(url))[1])
    for name in ("orch_server_instances_running", "orch_server_jobs_claimed_total",
                 "orch_server_claim_seconds_count", "orch_group_commit_records_count",
                 "orch_group_commit_seconds_sum", "process_resident_memory_bytes"):
        assert any(key[0] == name for key in after), name
    server = {"server": "m1"}
    assert value(after, "orch_server_jobs_claimed_total", **server) \
        >= value(before, "orch_server_jobs_claimed_total", **server) + 1
    assert value(after, "orch_server_claim_seconds_count", **server) \
        > value(before, "orch_server_claim_seconds_count", **server)
    assert value(after, "orch_server_instances_finished_total", server="m1", status="success") \
        == value(before, "orch_server_instances_finished_total", server="m1",
                 status="success") + 1
    assert value(after, "orch_group_commit_records_sum", **server) \
        >= value(before, "orch_group_commit_records_sum", **server) + 7  # 3 runs, 1 outcome
    compared = {"type": "core:compare_values"}
    assert value(after, "orch_activity_duration_seconds_count", **compared) \
        == value(before, "orch_activity_duration_seconds_count", **compared) + 2
    assert value(after, "orch_server_instances_running", **server) == 0


async def _port(srv: object) -> int | None:
    return getattr(srv, "metrics_port", None)


async def test_gateway_metrics_public_counts_jobs_by_status(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        rb = await check_in(conn, runbook_doc("Counted", [start(), compare("a")]))
    async with gateway(pool, "public") as url:
        status, text = await scrape(f"{url}/metrics")
        assert status == 200
        before = parse(text)
        for name in ("orch_jobs", "orch_websocket_clients", "orch_event_feed_lag_seconds",
                     "orch_event_feed_lag_events"):
            assert any(key[0] == name for key in before), name
        async with pool.acquire() as conn:
            await start_job(conn, rb)
            await start_job(conn, rb)
        after = parse((await scrape(f"{url}/metrics"))[1])
    assert value(after, "orch_jobs", status="queued") \
        == value(before, "orch_jobs", status="queued") + 2
    assert value(after, "orch_jobs", status="success") == value(before, "orch_jobs",
                                                                status="success")


async def test_gateway_metrics_token_protected_by_default(pool: asyncpg.Pool) -> None:
    assert Settings().metrics == "token"
    async with gateway(pool, "token") as url:
        assert (await scrape(f"{url}/metrics"))[0] == 401
        assert (await scrape(f"{url}/metrics", "orch_not-a-token"))[0] == 401
        status, text = await scrape(f"{url}/metrics", TOKEN)
        assert status == 200 and "orch_jobs" in text


async def test_gateway_metrics_off_has_no_route(pool: asyncpg.Pool) -> None:
    async with gateway(pool, "off") as url:
        assert (await scrape(f"{url}/metrics", TOKEN))[0] == 404
