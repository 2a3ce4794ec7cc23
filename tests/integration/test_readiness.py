"""Ready means ready: ``/health/ready`` beside ``/health``, and ``orch up``'s start-up gate.

A script that waits for the gateway and then calls the API with the token it
gave ``orch up`` (``ORCH_ADMIN_TOKEN``) must never get a 401 because the admin
did not exist yet: until bootstrap is done and the runbook server runs, every
call gets 503 ``starting``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin
from orch.db.connect import create_pool
from orch.gateway import make_app
from orch.gateway.availability import STARTUP
from tests.integration.helpers import eventually, running_server
from tests.integration.replication.cluster import free_port

TOKEN = "orch_readiness_token"


@pytest_asyncio.fixture(loop_scope="function")
async def gateway(dsn: str) -> AsyncIterator[tuple[str, web.Application, aiohttp.ClientSession]]:
    pool = await create_pool(dsn, min_size=1, max_size=4)
    app = make_app(Settings(), pool)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", app, http
    finally:
        await http.close()
        await runner.cleanup()
        await pool.close()


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_ready_only_with_the_first_user_and_a_runbook_server(
    gateway: tuple[str, web.Application, aiohttp.ClientSession], dsn: str,
) -> None:
    url, _app, http = gateway
    status, live = await _get(http, f"{url}/health")
    assert (status, live["status"], live["database"]) == (200, "ok", "ok")  # alive
    status, ready = await _get(http, f"{url}/health/ready")
    assert status == 503 and ready["ready"] is False
    assert (ready["bootstrapped"], ready["runbook_servers"]) == (False, 0)
    assert [w.split(":")[0] for w in ready["waiting_for"]] == ["bootstrap", "runbook server"]
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await bootstrap_admin(conn, None, token=TOKEN, password="pw")
    finally:
        await pool.close()
    status, ready = await _get(http, f"{url}/health/ready")
    assert status == 503 and ready["waiting_for"] == ["runbook server: none up"], ready
    async with running_server(dsn):
        status, ready = await _get(http, f"{url}/health/ready")
        assert status == 200 and ready == {
            "ready": True, "version": ready["version"], "database": "ok",
            "degraded_seconds": None, "bootstrapped": True, "runbook_servers": 1,
            "waiting_for": []}


async def test_while_starting_every_call_but_health_is_503_starting(
    gateway: tuple[str, web.Application, aiohttp.ClientSession],
) -> None:
    url, app, http = gateway
    app[STARTUP].wait_for("the admin user and token")
    status, body = await _get(http, f"{url}/api/v1/jobs")
    assert status == 503 and body["error"]["code"] == "starting", body
    assert "the admin user and token" in body["error"]["message"]
    status, live = await _get(http, f"{url}/health")
    assert status == 503 and live["status"] == "starting", live
    assert live["starting"] == ["the admin user and token"]
    app[STARTUP].done("the admin user and token")
    status, live = await _get(http, f"{url}/health")
    assert (status, live["status"]) == (200, "ok")
    status, body = await _get(http, f"{url}/api/v1/jobs")
    assert status == 401  # serving: no admin was created here, so the token is unknown


@pytest.mark.slow
async def test_orch_up_never_answers_401_to_the_token_it_is_creating() -> None:
    folder = Path(tempfile.mkdtemp(prefix="orch-test-ready-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    env.update(ORCH_DATA_DIR=str(folder / "data"), ORCH_ADMIN_TOKEN=TOKEN,
               ORCH_LOG_FORMAT="json")
    orch = str(Path(sys.executable).parent / "orch")
    proc = subprocess.Popen([orch, "up", "--port", str(port)], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    statuses: list[tuple[int, str]] = []
    try:
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=30)) as http:

            async def served() -> bool:
                assert proc.poll() is None, "orch up exited"
                try:
                    status, body = await _get(http, f"http://127.0.0.1:{port}/api/v1/jobs")
                except aiohttp.ClientConnectionError:
                    return False  # not listening yet
                code = body["error"]["code"] if status >= 400 else ""
                statuses.append((status, code))
                return status == 200

            await eventually(served, timeout=120)
            status, ready = await _get(http, f"http://127.0.0.1:{port}/health/ready")
            assert status == 200 and ready["ready"], ready
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
    assert set(statuses) <= {(503, "starting"), (200, "")}, statuses
    assert statuses[-1] == (200, "")
