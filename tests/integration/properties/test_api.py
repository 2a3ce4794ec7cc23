"""Runbook properties through the gateway: priority, disable/enable (API and CLI), logging flag."""

from __future__ import annotations

import asyncio
import json
import uuid

from click.testing import CliRunner

from orch.cli.main import _register, cli
from tests.integration.gateway.conftest import ADMIN_TOKEN, Api, api, document  # noqa: F401


async def test_start_with_priority(api: Api) -> None:  # noqa: F811
    await api.client.check_in(document())
    status, body = await api.request(
        "POST", "/api/v1/jobs",
        json_body={"runbook": "/Examples/Hello", "parameters": {"Name": "W"}, "priority": 7})
    assert status == 201 and body["priority"] == 7 and body["retries"] == 0
    job = await api.client.start_job("/Examples/Hello", {"Name": "X"})
    assert job.priority == 0


async def test_cli_job_start_with_priority(api: Api) -> None:  # noqa: F811
    await api.client.check_in(document())
    _register()
    env = {"ORCH_URL": api.url, "ORCH_TOKEN": ADMIN_TOKEN}
    out = await asyncio.to_thread(
        CliRunner().invoke, cli,
        ["job", "start", "/Examples/Hello", "-p", "Name=W", "--priority", "5", "--json"], env=env)
    assert out.exit_code == 0, out.output
    job_id = json.loads(out.output)["id"]
    assert (await api.client.get_job(job_id)).priority == 5


async def test_disable_refuses_starts_with_409_and_enable_allows_them(
    api: Api,  # noqa: F811
) -> None:
    created = await api.client.check_in(document())
    status, body = await api.request("POST", f"/api/v1/runbooks/{created.id}/disable")
    assert status == 200 and body["disabled"] is True and body["disabled_at"] is not None
    status, body = await api.request(
        "POST", "/api/v1/jobs", json_body={"runbook": "/Examples/Hello",
                                           "parameters": {"Name": "W"}})
    assert status == 409
    assert "disabled" in body["error"]["message"]
    status, body = await api.request("POST", f"/api/v1/runbooks/{created.id}/enable")
    assert status == 200 and body["disabled"] is False and body["disabled_at"] is None
    job = await api.client.start_job("/Examples/Hello", {"Name": "W"})
    assert job.status == "queued"


async def test_disable_unknown_runbook_is_404(api: Api) -> None:  # noqa: F811
    status, _ = await api.request(
        "POST", "/api/v1/runbooks/00000000-0000-4000-8000-000000000000/disable")
    assert status == 404


async def test_cli_runbook_disable_and_enable(api: Api) -> None:  # noqa: F811
    await api.client.check_in(document())
    _register()
    env = {"ORCH_URL": api.url, "ORCH_TOKEN": ADMIN_TOKEN}
    runner = CliRunner()
    out = await asyncio.to_thread(runner.invoke, cli, ["runbook", "disable", "/Examples/Hello"],
                                  env=env)
    assert out.exit_code == 0, out.output
    assert "runbook /Examples/Hello disabled" in out.output
    out = await asyncio.to_thread(runner.invoke, cli,
                                  ["runbook", "enable", "/Examples/Hello", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert '"disabled": false' in out.output.replace('":false', '": false')


async def test_instance_says_whether_published_data_is_stored(api: Api) -> None:  # noqa: F811
    created = await api.client.check_in(
        document(name="Quiet", logging={"store_published_data": False}))
    async with api.pool.acquire() as conn:
        # an instance row as a server would make it (no server runs in these tests)
        job = await api.client.start_job(created.id, {"Name": "W"})
        await conn.execute(
            "INSERT INTO instances (id, job_id, server, status) "
            "VALUES (gen_random_uuid(), $1, 's', 'running')", uuid.UUID(job.id))
        iid = await conn.fetchval("SELECT id::text FROM instances WHERE job_id = $1",
                                  uuid.UUID(job.id))
    inst = await api.client.get_instance(iid)
    assert inst.published_data_stored is False and inst.common_data_stored is True
