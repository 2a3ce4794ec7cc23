"""``orch deploy server``: a server row and its runbook assignments before its first start."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from click.testing import CliRunner

from orch.cli.main import _register, cli
from tests.integration.helpers import check_in, runbook_doc, start, start_job, wait_job
from tests.integration.packs.helpers import server


async def _orch(*args: str) -> tuple[int, str]:
    _register()
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    return result.exit_code, result.output


async def test_deploy_server_then_start_it(pool: asyncpg.Pool, dsn: str) -> None:
    async with pool.acquire() as conn:
        one = await check_in(conn, runbook_doc("One", [start()]))
        await check_in(conn, runbook_doc("Two", [start()]))
    code, out = await _orch("deploy", "server", "edge", "--primary-for", "/Tests/One",
                            "--standby-for", "/Tests/Two", "--capacity", "3",
                            "--database-url", dsn, "--json")  # fmt: skip
    assert code == 0, out
    result = json.loads(out)
    assert result["status"] == "stopped" and result["created"] and result["capacity"] == 3
    assert result["assignments"] == {"/Tests/One": ["edge"], "/Tests/Two": ["edge"]}
    code, out = await _orch("deploy", "server", "core1", "--primary-for", "/Tests/Two",
                            "--database-url", dsn)  # fmt: skip
    assert code == 0, out
    assert "registered runbook server core1 (status stopped, capacity 1000)" in out
    assert "/Tests/Two: core1 > edge" in out
    code, out = await _orch("deploy", "server", "edge", "--standby-for", "/Nope",
                            "--database-url", dsn)  # fmt: skip
    assert code == 1 and "no runbook /Nope" in out
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT name, status FROM servers ORDER BY name")
        assert [tuple(r) for r in rows] == [("core1", "stopped"), ("edge", "stopped")]
        job = await start_job(conn, one)
    # the assigned server, once started, runs the runbook
    async with server(pool, "edge"):
        done = await wait_job(pool, job.id)
    assert (done.status, done.server) == ("success", "edge")
