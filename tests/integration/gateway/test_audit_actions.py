"""Every management action leaves its audit row (who, what, on what, from where), readable
through ``GET /events?kind=audit`` by admins only."""

from __future__ import annotations

import uuid
from typing import Any

from orch.db.packs import PackRecord, TypeRecord, deploy_server, register_pack
from tests.integration.gateway.conftest import Api, document


async def _ok(api: Api, method: str, path: str, **kw: Any) -> Any:
    status, body = await api.request(method, path, **kw)
    assert 200 <= status < 300, (method, path, status, body)
    return body


async def _fail_latest_instance(api: Api, job_id: str) -> str:
    """Make the job's outcome a failed instance (no runbook server runs in these tests)."""
    instance = uuid.uuid4()
    async with api.pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO instances (id, job_id, status, error, ended_at) "
                           "VALUES ($1, $2::uuid, 'failed', 'boom', now())", instance, job_id)
        await conn.execute("UPDATE jobs SET status = 'failed', instance_id = $2, "
                           "ended_at = now() WHERE id = $1::uuid", job_id, instance)
    return str(instance)


async def test_each_action_is_audited_and_shown_to_admins_only(api: Api) -> None:
    doc = document(name="Audited", folder="/Ops")
    created = await _ok(api, "POST", "/api/v1/runbooks", json_body=doc)
    rb, path = created["id"], created["path"]
    await _ok(api, "POST", f"/api/v1/runbooks/{rb}/checkout")
    await _ok(api, "DELETE", f"/api/v1/runbooks/{rb}/checkout")
    await _ok(api, "PUT", f"/api/v1/runbooks/{rb}", json_body={**doc, "description": "v2"})
    await _ok(api, "POST", "/api/v1/runbooks/import", json_body={
        "documents": [document(name="Imported", folder="/Ops")], "comment": "bulk"})
    job = await _ok(api, "POST", "/api/v1/jobs",
                    json_body={"runbook": path, "parameters": {"Name": "x"}})
    await _ok(api, "POST", f"/api/v1/jobs/{job['id']}/stop")
    rerun = await _ok(api, "POST", f"/api/v1/jobs/{job['id']}/rerun")
    instance = await _fail_latest_instance(api, rerun["id"])
    await _ok(api, "POST", f"/api/v1/instances/{instance}/resume")
    await _ok(api, "POST", f"/api/v1/runbooks/{rb}/disable")
    await _ok(api, "POST", f"/api/v1/runbooks/{rb}/enable")
    async with api.pool.acquire() as conn:
        await deploy_server(conn, "rs1", 10)
        async with conn.transaction():
            await register_pack(conn, PackRecord(
                name="acme", version="1.0", distribution="orch-acme", types=[TypeRecord(
                    name="Ping", input_schema={"type": "object"},
                    output_schema={"type": "object"})]), registered_by="deployer")
    await _ok(api, "PUT", "/api/v1/servers/rs1/maintenance", json_body={"maintenance": True})
    async with api.pool.acquire() as conn:  # as if it had started and sent a heartbeat
        await conn.execute("UPDATE servers SET status = 'up', maintenance = false, "
                           "heartbeat_at = now() WHERE name = 'rs1'")
    await _ok(api, "POST", "/api/v1/servers/rs1/drain")

    async with api.pool.acquire() as conn:
        rows = [dict(r) for r in await conn.fetch(
            "SELECT actor, action, target, data FROM audit ORDER BY id")]
    def find(action: str, target: str) -> dict[str, Any]:
        hits = [r for r in rows if r["action"] == action and r["target"] == target]
        assert hits, (action, target, [(r["action"], r["target"]) for r in rows])
        return hits[-1]

    gateway_actions = [
        find("runbook checked in", path),
        find("runbook checked out", path),
        find("runbook check-out undone", path),
        find("runbook checked in", "/Ops/Imported"),
        find("job started", path),
        find("job stop requested", path),
        find("job rerun", path),
        find("instance resumed", path),
    ]
    for row in gateway_actions:
        assert row["actor"] == "admin" and row["data"]["remote"] == "127.0.0.1", row
    assert find("job started", path)["data"]["job"] == job["id"]
    assert find("job rerun", path)["data"] == {"job": rerun["id"], "rerun_of": job["id"],
                                               "version": "same", "remote": "127.0.0.1"}
    assert find("instance resumed", path)["data"]["instance"] == instance
    assert find("runbook checked in", "/Ops/Imported")["data"]["import"] is True
    assert find("runbook.disabled", path)["actor"] == "admin"
    assert find("runbook.enabled", path)["actor"] == "admin"
    pack = find("pack installed", "pack:acme")
    assert pack["actor"] == "deployer" and pack["data"]["version"] == "1.0"
    assert pack["data"]["remote"]  # the host it was installed from
    assert find("server maintenance on", "rs1")["actor"] == "admin"
    assert find("server drain", "rs1")["actor"] == "admin"

    body = await _ok(api, "GET", "/api/v1/events", params={"kind": "audit", "limit": "100"})
    shown = {(e["action"], e["target"]) for e in body["items"]}
    assert {("job started", path), ("job stop requested", path), ("job rerun", path),
            ("runbook checked out", path), ("pack installed", "pack:acme")} <= shown
    operator = await api.make_user("operator")
    await _ok(api, "POST", "/api/v1/grants", json_body={
        "principal": "user:operator", "target": "/Ops", "rights": ["view", "start", "stop"]})
    status, _ = await api.request("GET", "/api/v1/events", token=operator,
                                  params={"kind": "audit"})
    assert status == 403


async def test_a_failed_action_leaves_no_audit_row(api: Api) -> None:
    """The row is written in the action's transaction: a refused stop records nothing."""
    created = await _ok(api, "POST", "/api/v1/runbooks", json_body=document(name="Once"))
    job = await _ok(api, "POST", "/api/v1/jobs",
                    json_body={"runbook": created["path"], "parameters": {"Name": "x"}})
    await _ok(api, "POST", f"/api/v1/jobs/{job['id']}/stop")
    status, _ = await api.request("POST", f"/api/v1/jobs/{job['id']}/stop")
    assert status == 409  # already ended
    async with api.pool.acquire() as conn:
        stops = await conn.fetchval("SELECT count(*) FROM audit WHERE action = "
                                    "'job stop requested'")
    assert stops == 1
