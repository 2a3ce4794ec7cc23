"""The failover routes and CLI verbs over a real gateway (and an in-process runbook server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

import orch.cli.servers  # registers the verbs
from orch.cli.main import cli
from tests.integration.failover.procs import register
from tests.integration.gateway.conftest import ADMIN_TOKEN, Api, api, document  # noqa: F401
from tests.integration.helpers import eventually, running_server, wait_job


async def orch(api: Api, *args: str) -> Result:  # noqa: F811
    """Run a CLI verb against the test gateway (in a thread: the CLI runs its own loop)."""
    argv = [*args, "--url", api.url, "--token", ADMIN_TOKEN]
    return await asyncio.to_thread(CliRunner().invoke, cli, argv, catch_exceptions=False)


def _json(result: Result) -> dict:  # type: ignore[type-arg]
    """The verb's JSON (the in-process server's log lines may share the captured stdout)."""
    text = result.stdout
    return json.loads(text[text.index("{\n"):] if not text.startswith("{") else text)


async def _folder_id(api: Api, path: str) -> str:  # noqa: F811
    folder = await api.client.find_folder(path)
    assert folder is not None
    return folder.id


async def test_runbook_and_folder_assignment(api: Api) -> None:  # noqa: F811
    await register(api.pool, "p", "sa", "sb")
    created = await api.client.check_in(document("Hello", "/Ops/Svc"))
    url = f"/api/v1/runbooks/{created.id}/servers"

    status, body = await api.request("PUT", url, json_body={"servers": ["p", "sa"]})
    assert status == 200, body
    assert (body["servers"], body["effective"], body["inherited_from"]) == (
        ["p", "sa"], ["p", "sa"], None)
    detail = await api.client.get_runbook(created.id)
    assert (detail.servers, detail.servers_inherited_from) == (["p", "sa"], None)

    status, body = await api.request("PUT", url, json_body={"servers": ["p", "typo"]})
    assert (status, body["error"]["code"], body["error"]["path"]) == (
        422, "invalid-servers", "$.servers[1]")
    status, body = await api.request("PUT", url, json_body={"servers": ["p", "p"]})
    assert status == 422
    status, body = await api.request("PUT", url, json_body={"servers": ["p"], "x": 1})
    assert status == 422
    status, _ = await api.request(
        "PUT", "/api/v1/runbooks/00000000-0000-0000-0000-000000000001/servers",
        json_body={"servers": []})
    assert status == 404

    # A folder's list holds for every runbook below it without its own.
    ops = await _folder_id(api, "/Ops")
    status, body = await api.request("PUT", f"/api/v1/folders/{ops}/servers",
                                     json_body={"servers": ["sb", "sa"]})
    assert status == 200 and body["servers"] == ["sb", "sa"], body
    assert (await api.client.runbook_servers(created.id)).effective == ["p", "sa"]  # own wins
    cleared = await api.client.set_runbook_servers(created.id, [])
    assert (cleared.servers, cleared.effective, cleared.inherited_from) == (
        [], ["sb", "sa"], "/Ops")
    detail = await api.client.get_runbook(created.id)
    assert (detail.servers, detail.servers_inherited_from) == (["sb", "sa"], "/Ops")
    sub = await api.client.folder_servers(await _folder_id(api, "/Ops/Svc"))
    assert (sub.servers, sub.effective, sub.inherited_from) == ([], ["sb", "sa"], "/Ops")

    operator = await api.make_user("op")
    status, _ = await api.request("PUT", url, token=operator, json_body={"servers": []})
    assert status == 404  # not visible to it
    await api.pool.execute(
        "INSERT INTO grants (id, principal_kind, principal_id, target_path, rights)"
        " SELECT gen_random_uuid(), 'user', id, '/Ops', ARRAY['view', 'start'] FROM users"
        " WHERE name = 'op'")
    status, _ = await api.request("PUT", url, token=operator, json_body={"servers": []})
    assert status == 403  # visible, but assigning servers takes `design`
    status, body = await api.request("GET", url, token=operator)
    assert status == 200 and body["effective"] == ["sb", "sa"]

    # The CLI: a runbook path, a folder path, --clear.
    result = await orch(api, "runbook", "servers", "/Ops/Svc/Hello", "p", "sa")
    assert result.exit_code == 0, result.output
    assert "primary  p" in result.output and "standby  sa" in result.output
    result = await orch(api, "runbook", "servers", "/Ops/Svc/Hello", "--clear", "--json")
    assert _json(result)["inherited_from"] == "/Ops"
    result = await orch(api, "runbook", "servers", "/Ops", "p")
    assert result.exit_code == 0 and "folder /Ops" in result.output, result.output
    result = await orch(api, "runbook", "servers", "/Ops/Svc/Hello")
    assert "primary  p" in result.output and "(from /Ops)" in result.output
    result = await orch(api, "runbook", "servers", "/Nowhere", "p")
    assert result.exit_code == 1


async def test_drain_and_maintenance_routes_and_verbs(api: Api) -> None:  # noqa: F811
    await register(api.pool, "gone")
    operator = await api.make_user("op")

    async def status_of(name: str) -> str:
        return await api.pool.fetchval("SELECT status FROM servers WHERE name = $1", name)

    async with running_server(api.pool, server_name="s1"):
        status, body = await api.request("PUT", "/api/v1/servers/s1/maintenance",
                                         json_body={"maintenance": True})
        assert (status, body["status"]) == (200, "maintenance"), body
        status, _ = await api.request("PUT", "/api/v1/servers/s1/maintenance",
                                      token=operator, json_body={"maintenance": False})
        assert status == 403  # admins only
        result = await orch(api, "server", "maintenance", "s1", "off")
        assert result.exit_code == 0 and "up" in result.output, result.output

        status, body = await api.request("POST", "/api/v1/servers/s1/drain")
        assert (status, body["status"]) == (202, "draining"), body

        async def drained() -> bool:
            return await status_of("s1") == "maintenance"

        await eventually(drained, timeout=20)
        result = await orch(api, "server", "drain", "s1", "--json")
        assert result.exit_code == 0 and _json(result)["name"] == "s1"
        # the answer says the drain began (an idle server may finish it before a re-read)
        assert _json(result)["status"] == "draining", result.output

        await eventually(drained, timeout=20)
        status, body = await api.request("POST", "/api/v1/servers/nobody/drain")
        assert status == 404
        status, body = await api.request("POST", "/api/v1/servers/gone/drain")
        assert status == 409
        status, _ = await api.request("POST", "/api/v1/servers/s1/drain", token=operator)
        assert status == 403
        result = await orch(api, "server", "maintenance", "s1", "off")
        assert result.exit_code == 0


async def test_resume_route_and_verb(api: Api, tmp_path: Path) -> None:  # noqa: F811
    fixed = tmp_path / "fixed"
    doc = document("Fixable", "/Ops")
    doc["activities"] = [
        {"id": "start", "type": "initialize_data", "properties": {"parameters": []}},
        {"id": "check", "type": "run_program",
         "properties": {"program": "test", "args": ["-e", str(fixed)]}},
        {"id": "after", "type": "compare_values",
         "properties": {"value": "a", "op": "equals", "to": "a"}},
    ]
    doc["links"] = [{"from": "start", "to": "check"}, {"from": "check", "to": "after"}]
    doc["returns"] = []
    created = await api.client.check_in(doc)
    async with running_server(api.pool, server_name="s1"):
        job = await api.client.start_job(created.id)
        failed = await wait_job(api.pool, job.id, timeout=20)
        assert failed.status == "failed"
        status, body = await api.request("POST", f"/api/v1/instances/{failed.instance_id}/resume")
        assert status == 202 and body["status"] == "running", body  # not fixed: fails again
        failed = await wait_job(api.pool, job.id, timeout=20)
        assert failed.status == "failed"
        fixed.touch()
        result = await orch(api, "job", "resume", job.id, "--wait")
        assert result.exit_code == 0, result.output
        status, body = await api.request("POST", f"/api/v1/instances/{failed.instance_id}/resume")
        assert (status, body["error"]["code"]) == (409, "conflict")
        status, _ = await api.request(
            "POST", "/api/v1/instances/00000000-0000-0000-0000-000000000001/resume")
        assert status == 404
    instance = await api.client.get_instance(failed.instance_id)
    assert instance.status == "success"
    runs = [(r.activity, r.status, r.superseded_at is not None) for r in instance.activity_runs]
    assert runs == [("start", "success", False), ("check", "failed", True),
                    ("check", "failed", True), ("check", "success", False),
                    ("after", "success", False)]
    assert [(t.from_server, t.to_server, t.reason, t.epoch) for t in instance.takeovers] == [
        ("s1", "s1", "resumed", 2), ("s1", "s1", "resumed", 3)]

