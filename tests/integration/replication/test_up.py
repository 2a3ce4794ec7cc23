"""``orch up`` on the multi-host URL: ready, through a failover, and still serving after it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.helpers import compare, runbook_doc, start
from tests.integration.replication.cluster import PgPair, free_port
from tests.integration.replication.conftest import TOKEN, until

pytestmark = pytest.mark.slow


async def test_orch_up_follows_a_failover(pair: PgPair) -> None:
    folder = Path(tempfile.mkdtemp(prefix="orch-test-up-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    env.update(ORCH_DATA_DIR=str(folder / "data"), ORCH_ADMIN_TOKEN=TOKEN,
               ORCH_DATABASE_URL=pair.url, ORCH_LOG_FORMAT="json",
               ORCH_HEARTBEAT_SECONDS="0.2", ORCH_SERVER_TIMEOUT_SECONDS="1",
               ORCH_POLL_SECONDS="0.5")
    log = (folder / "up.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "orch"), "up", "--port",
                             str(port)], env=env, cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=30)) as http:

            async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
                async with http.request(method, base + path, json=body) as resp:
                    return resp.status, await resp.json(content_type=None)

            async def ready() -> bool:
                assert proc.poll() is None, (folder / "up.log").read_text()[-3000:]
                try:
                    return (await call("GET", "/health/ready"))[0] == 200
                except aiohttp.ClientConnectionError:
                    return False

            await until(ready, timeout=120)
            status, rb = await call("POST", "/api/v1/runbooks",
                                    runbook_doc("Up", [start(), compare("c")]))
            assert status == 201, rb

            async def run_one() -> None:
                async def started() -> Any:
                    status, job = await call("POST", "/api/v1/jobs", {"runbook": rb["id"]})
                    assert status in (201, 503), job  # 503: no primary yet, retry
                    return job if status == 201 else None

                job = await until(started)

                async def succeeded() -> bool:
                    status, body = await call("GET", f"/api/v1/jobs/{job['id']}")
                    return status == 200 and body["status"] == "success"

                await until(succeeded)

            await run_one()
            await asyncio.to_thread(pair.fail_over)
            await run_one()  # the gateway and the runbook server of orch up followed
            await until(ready)
            status, health = await call("GET", "/health")
            assert (status, health["status"]) == (200, "ok"), health
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(proc.wait, 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        log.close()
        text = (folder / "up.log").read_text(errors="replace")
        shutil.rmtree(folder, ignore_errors=True)
    assert code == 0, text[-3000:]
    assert "released back to the pool" not in text
