"""Approvals, webhooks and schedules through the gateway, with a runbook server running."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from orch.db.jobs import request_stop
from tests.integration.gateway.conftest import Api
from tests.integration.helpers import eventually, runbook_doc, start, start_job, wait_job
from tests.integration.packs.helpers import check_in_with, core_registry, server

HOOK_TOKEN = "hook-secret-0123456789"


def approval_doc(name: str, timeout: float = 60.0) -> dict[str, Any]:
    return runbook_doc(name, [
        start(),
        {"id": "ask", "type": "wait_for_approval",
         "properties": {"message": "Restart the database?", "timeout_seconds": timeout}},
        {"id": "after", "type": "compare_values",
         "properties": {"value": "{ask.DecidedBy}", "op": "equals", "to": "admin"}},
    ])  # fmt: skip


async def _pending(api: Api) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        status, body = await api.request("GET", "/api/v1/approvals", params={"status": "pending"})
        assert status == 200, body
        return body["items"][0] if body["items"] else None

    return await eventually(probe)


async def _runs(pool: asyncpg.Pool, instance_id: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT activity, status, published FROM activity_runs WHERE instance_id = $1",
            uuid.UUID(instance_id),
        )
    return {r["activity"]: r for r in rows}


async def test_approve_reject_and_audit(api: Api) -> None:
    reg = core_registry()
    async with api.pool.acquire() as conn:
        rb = await check_in_with(conn, approval_doc("Approve"), reg)
    operator = await api.make_user("operator")
    async with server(api.pool, "s1", reg):
        for decision, word, outcome in (("approve", "approved", "success"),
                                        ("reject", "rejected", "failed")):
            async with api.pool.acquire() as conn:
                job = await start_job(conn, rb, registry=reg)
            pending = await _pending(api)
            assert pending["job_id"] == job.id and pending["status"] == "pending"
            assert pending["message"] == "Restart the database?"
            assert pending["runbook_path"] == "/Tests/Approve"
            path = f"/api/v1/approvals/{pending['id']}"
            status, body = await api.request("POST", path, token=operator,
                                             json_body={"decision": decision})  # fmt: skip
            assert status == 404, body  # an operator without a grant does not see the runbook
            status, body = await api.request("POST", path, json_body={"decision": "maybe"})
            assert status == 422, body
            status, body = await api.request(
                "POST", path, json_body={"decision": decision, "comment": f"{word}: ok"})
            assert status == 200, body
            assert body["status"] == word
            assert body["decided_by"] == "admin" and body["comment"] == f"{word}: ok"
            status, body = await api.request("POST", path, json_body={"decision": "approve"})
            assert status == 409, body
            done = await wait_job(api.pool, job.id)
            assert done.status == outcome
            runs = await _runs(api.pool, done.instance_id or "")
            item = runs["ask"]["published"][0]
            assert item["Decision"] == word
            assert (item["DecidedBy"], item["Comment"]) == ("admin", f"{word}: ok")
            assert item["ApprovalId"] == pending["id"] and item["DecidedAt"].endswith("Z")
            if decision == "approve":
                assert runs["after"]["published"][0]["Result"] == "true"
            else:
                assert "after" not in runs
                assert item["ErrorSummary"] == "rejected by admin: rejected: ok"
    async with api.pool.acquire() as conn:
        audit = await conn.fetch("SELECT actor, action, target, data FROM audit "
                                 "WHERE action LIKE 'approval.%' ORDER BY id")  # fmt: skip
    assert [(a["actor"], a["action"], a["target"]) for a in audit] == [
        ("admin", "approval.approved", "/Tests/Approve"),
        ("admin", "approval.rejected", "/Tests/Approve"),
    ]
    assert audit[0]["data"]["comment"] == "approved: ok"
    status, body = await api.request("GET", "/api/v1/approvals", params={"status": "approved"})
    assert status == 200 and len(body["items"]) == 1
    status, body = await api.request("GET", f"/api/v1/approvals/{uuid.uuid4()}")
    assert status == 404


async def test_approval_times_out(api: Api) -> None:
    reg = core_registry()
    async with api.pool.acquire() as conn:
        rb = await check_in_with(conn, approval_doc("Expire", timeout=0.3), reg)
    async with server(api.pool, "s1", reg):
        async with api.pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)
        done = await wait_job(api.pool, job.id)
    assert done.status == "failed"
    item = (await _runs(api.pool, done.instance_id or ""))["ask"]["published"][0]
    assert (item["Decision"], item["DecidedBy"]) == ("expired", "")
    assert item["ErrorSummary"] == "no decision within 0.3 s"
    status, body = await api.request("GET", f"/api/v1/approvals/{item['ApprovalId']}")
    assert status == 200 and body["status"] == "expired"
    status, body = await api.request("POST", f"/api/v1/approvals/{item['ApprovalId']}",
                                     json_body={"decision": "approve"})  # fmt: skip
    assert status == 409


async def test_webhook_monitor_end_to_end(api: Api) -> None:
    reg = core_registry()
    doc = runbook_doc("Hooked", [
        {"id": "hook", "type": "monitor_webhook",
         "properties": {"token": HOOK_TOKEN, "fields": ["Host"]}},
        {"id": "seen", "type": "compare_values",
         "properties": {"value": "{hook.Host}", "op": "equals", "to": "web1"}},
    ])  # fmt: skip
    async with api.pool.acquire() as conn:
        rb = await check_in_with(conn, doc, reg)
    url = f"/api/v1/hooks/{rb.id}"
    status, _ = await api.request("POST", url, token=HOOK_TOKEN, json_body={"Host": "early"})
    assert status == 404  # no monitor listens yet
    async with server(api.pool, "s1", reg):
        async with api.pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)

        async def listening() -> bool:
            async with api.pool.acquire() as conn:
                return bool(await conn.fetchval(
                    "SELECT count(*) FROM webhooks WHERE runbook_id = $1", uuid.UUID(rb.id)))

        await eventually(listening)
        status, body = await api.request("POST", url, token="wrong-token-0000000000",
                                         json_body={"Host": "x"})  # fmt: skip
        assert status == 401, body
        status, body = await api.request("POST", url, token=None, json_body={"Host": "x"})
        assert status == 401, body
        status, body = await api.request("POST", url, token=HOOK_TOKEN, body="{not json")
        assert status == 400, body
        status, body = await api.request("POST", url, token=HOOK_TOKEN,
                                         json_body={"Host": "web1", "n": 1})  # fmt: skip
        assert status == 202, body
        request_id = body["id"]

        async def triggered() -> asyncpg.Record | None:
            async with api.pool.acquire() as conn:
                return await conn.fetchrow(
                    "SELECT i.id::text AS id FROM instances i WHERE i.job_id = $1 "
                    "AND i.triggered_by IS NOT NULL AND i.status = 'success'",
                    uuid.UUID(job.id),
                )

        row = await eventually(triggered)
        runs = await _runs(api.pool, row["id"])
        hook = runs["hook"]["published"][0]
        assert (hook["Host"], hook["RequestId"]) == ("web1", request_id)
        assert json.loads(hook["Body"]) == {"Host": "web1", "n": 1}
        assert runs["seen"]["published"][0]["Result"] == "true"
        async with api.pool.acquire() as conn:
            await request_stop(conn, job.id)
        assert (await wait_job(api.pool, job.id)).status == "stopped"
        await eventually(lambda: _not(listening))
    status, _ = await api.request("POST", url, token=HOOK_TOKEN, json_body={})
    assert status == 404  # the endpoint went away with its monitor


async def _not(probe: Any) -> bool:
    return not await probe()


async def test_schedules_api(api: Api) -> None:
    definition = {"time_zone": "Europe/Paris", "days_of_week": ["mon", "fri"],
                  "hours": ["08:00-18:00"], "exceptions": [{"date": "2026-12-25"}]}  # fmt: skip
    status, body = await api.request("PUT", "/api/v1/schedules/Office", json_body=definition)
    assert status == 201, body
    assert body["definition"]["days_of_week"] == ["mon", "fri"]
    status, body = await api.request("PUT", "/api/v1/schedules/Office",
                                     json_body={**definition, "hours": ["9-5"]})  # fmt: skip
    assert status == 422 and "HH:MM-HH:MM" in body["error"]["message"], body
    status, body = await api.request("PUT", "/api/v1/schedules/Office",
                                     json_body={**definition, "days_of_week": ["sat"]})  # fmt: skip
    assert status == 200, body
    status, body = await api.request("GET", "/api/v1/schedules/Office")
    assert status == 200 and body["definition"]["days_of_week"] == ["sat"]
    assert body["definition"]["exceptions"] == [{"date": "2026-12-25", "from": None, "to": None}]
    status, _ = await api.request("GET", "/api/v1/schedules/Nope")
    assert status == 404
    operator = await api.make_user("op")
    status, _ = await api.request("PUT", "/api/v1/schedules/Office", token=operator,
                                  json_body=definition)  # fmt: skip
    assert status == 403
    status, _ = await api.request("GET", "/api/v1/schedules/Office", token=None)
    assert status == 401
    # check_schedule reads it through the server's services
    reg = core_registry()
    doc = runbook_doc("Sched", [start(), {"id": "c", "type": "check_schedule", "properties": {
        "schedule": "Office", "time": "2026-11-28T10:00:00Z"}}])  # fmt: skip
    async with api.pool.acquire() as conn:
        rb = await check_in_with(conn, doc, reg)
    async with server(api.pool, "s1", reg):
        async with api.pool.acquire() as conn:
            job = await start_job(conn, rb, registry=reg)
        done = await wait_job(api.pool, job.id)
    assert done.status == "success"
    assert (await _runs(api.pool, done.instance_id or ""))["c"]["published"][0]["Inside"] == "true"
