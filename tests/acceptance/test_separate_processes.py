"""DESIGN's scale-out shape: `orch gateway` and several `orch server --name X` side by side.

All against one PostgreSQL (``ORCH_DATABASE_URL``): the admin comes from
`orch db migrate`, check-in and job start go through the gateway, and each
job runs on the server it names.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import asyncpg
import pytest

from tests.acceptance.test_quickstart import ORCH, ROOT, http, wait_finished

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TOKEN = "orch_acceptance-separate-processes"


def env_for(dsn: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    env.update(ORCH_DATABASE_URL=dsn, ORCH_DATA_DIR=str(data_dir), ORCH_ADMIN_TOKEN=TOKEN,
               ORCH_LOG_FORMAT="json", ORCH_HEARTBEAT_SECONDS="1")
    return env


async def wait_servers_up(dsn: str, names: set[str], timeout: float = 60.0) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while True:
            rows = await conn.fetch("SELECT name FROM servers WHERE status = 'up'")
            if names <= {r["name"] for r in rows}:
                return
            assert time.monotonic() < deadline, f"servers not up: {rows}"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_gateway_and_two_servers(dsn: str, tmp_path: Path) -> None:
    env = env_for(dsn, tmp_path / "data")
    migrated = subprocess.run([ORCH, "db", "migrate", "--json"], env=env, capture_output=True,
                              text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["admin"]["token"] == TOKEN

    procs: list[subprocess.Popen[str]] = []
    try:
        gateway = subprocess.Popen([ORCH, "gateway", "--port", "0"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(gateway)
        for name in ("alpha", "beta"):
            procs.append(subprocess.Popen([ORCH, "server", "--name", name], env=env,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        assert gateway.stdout is not None
        line = gateway.stdout.readline()  # "gateway on http://127.0.0.1:PORT/api/v1 ..."
        url = line.split()[2].removesuffix("/api/v1")
        assert url.startswith("http://127.0.0.1:"), line
        await wait_servers_up(dsn, {"alpha", "beta"})

        hello = (ROOT / "examples" / "hello.json").read_bytes()
        status, _ = http(f"{url}/api/v1/runbooks", TOKEN, "POST", json.loads(hello))
        assert status == 201
        started = []
        for i in range(6):
            server = ("alpha", "beta")[i % 2]
            status, job = http(f"{url}/api/v1/jobs", TOKEN, "POST",
                               {"runbook": "/Examples/Hello", "parameters": {"Name": str(i)},
                                "server": server})
            assert status == 201
            started.append((job["id"], server, str(i)))
        for job_id, server, name in started:
            job = wait_finished(url, TOKEN, job_id)
            assert job["status"] == "success" and job["server"] == server
            assert job["returned_data"] == {"Greeting": f"Hello, {name}!"}
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(timeout=60) == 0
