"""Job and instance routes: start by path or id, parameters, reads, lists, stop."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from orch.api import Job
from tests.integration.gateway.conftest import Api, document

JOB_FIELDS = {
    "id", "runbook_id", "runbook_path", "runbook_version", "status", "parameters",
    "returned_data", "created_at", "started_at", "ended_at", "server", "instance_id",
    "instance_ids", "waiting_reason", "stop_requested_at",
}
MISSING = "00000000-0000-4000-8000-000000000000"


def typed_document() -> dict:
    doc = document(name="Typed")
    doc["activities"][0]["properties"]["parameters"] = [
        {"name": "Name", "type": "string"},
        {"name": "Count", "type": "integer", "default": 1},
        {"name": "Loud", "type": "boolean", "default": False},
    ]
    return doc


async def test_start_by_path_and_by_id(api: Api) -> None:
    created = await api.client.check_in(document())
    status, body = await api.request(
        "POST", "/api/v1/jobs",
        json_body={"runbook": "/Examples/Hello", "parameters": {"Name": "World"}},
    )
    assert status == 201
    assert set(body) >= JOB_FIELDS
    assert body["status"] == "queued" and body["runbook_id"] == created.id
    assert body["runbook_path"] == "/Examples/Hello" and body["runbook_version"] == 1
    assert body["parameters"] == {"Name": "World"}
    assert body["started_at"] is None and body["instance_id"] is None
    assert body["instance_ids"] == [] and body["created_by"] == "admin"

    job = await api.client.start_job(created.id, {"Name": "Id"})
    assert job.runbook_id == created.id and job.parameters == {"Name": "Id"}
    again = await api.client.get_job(job.id)
    assert again == job


async def test_parameters_are_checked_and_canonical(api: Api) -> None:
    await api.client.check_in(typed_document())
    job = await api.client.start_job(
        "/Examples/Typed", {"Name": "x", "Count": "0042", "Loud": True}
    )
    assert job.parameters == {"Name": "x", "Count": "42", "Loud": "true"}

    cases = [
        ({"Name": "x", "Count": "many"}, "$.parameters.Count"),
        ({"Name": "x", "Nope": "1"}, "$.parameters.Nope"),
        ({}, "$.parameters.Name"),
    ]
    for parameters, path in cases:
        status, body = await api.request(
            "POST", "/api/v1/jobs",
            json_body={"runbook": "/Examples/Typed", "parameters": parameters},
        )
        assert status == 422, parameters
        assert body["error"]["path"] == path
        assert body["error"]["faults"][0]["path"] == path
        assert body["error"]["code"] == "invalid-parameters"


async def test_start_failures(api: Api) -> None:
    await api.client.check_in(document())
    status, body = await api.request("POST", "/api/v1/jobs", body='{"runbook": ')
    assert status == 400 and body["error"]["code"] == "malformed-json"
    status, body = await api.request("POST", "/api/v1/jobs", json_body={"parameters": {}})
    assert status == 422 and body["error"]["code"] == "invalid-body"
    status, body = await api.request(
        "POST", "/api/v1/jobs", json_body={"runbook": "/Examples/Hello", "bogus": 1}
    )
    assert status == 422 and body["error"]["path"] == "$.bogus"
    status, body = await api.request(
        "POST", "/api/v1/jobs", json_body={"runbook": "/Examples/Hello", "parameters": [1]}
    )
    assert status == 422 and body["error"]["path"] == "$.parameters"
    for ref in ("/Examples/Nope", MISSING):
        status, body = await api.request("POST", "/api/v1/jobs", json_body={"runbook": ref})
        assert status == 404 and body["error"]["path"] == "$.runbook"
    status, body = await api.request(
        "POST", "/api/v1/jobs",
        json_body={"runbook": "/Examples/Hello", "parameters": {"Name": "x"}, "server": "zz"},
    )
    assert status == 422 and body["error"]["path"] == "$.server"


async def test_unknown_job_and_instance_are_404(api: Api) -> None:
    for method, path in [
        ("GET", f"/api/v1/jobs/{MISSING}"),
        ("GET", "/api/v1/jobs/123"),
        ("POST", f"/api/v1/jobs/{MISSING}/stop"),
        ("POST", "/api/v1/jobs/x/stop"),
        ("GET", f"/api/v1/instances/{MISSING}"),
        ("GET", "/api/v1/instances/nope"),
    ]:
        status, body = await api.request(method, path)
        assert status == 404, path
        assert body["error"]["code"] == "not-found"


async def test_stop_queued_then_finished_is_409(api: Api) -> None:
    await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    status, body = await api.request("POST", f"/api/v1/jobs/{job.id}/stop")
    assert status == 202
    assert body["status"] == "stopped" and body["stop_requested_at"] is not None
    status, body = await api.request("POST", f"/api/v1/jobs/{job.id}/stop")
    assert status == 409 and body["error"]["code"] == "conflict"


async def test_list_filters_and_pages(api: Api) -> None:
    await api.client.check_in(document())
    other = await api.client.check_in(document(name="Other"))
    jobs = [await api.client.start_job("/Examples/Hello", {"Name": str(i)}) for i in range(3)]
    await api.client.start_job(other.id, {"Name": "o"})
    await api.client.stop_job(jobs[0].id)

    page = await api.client.list_jobs(runbook="/Examples/Hello", limit=2)
    assert [j.id for j in page.items] == [jobs[2].id, jobs[1].id]
    rest = await api.client.list_jobs(runbook="/Examples/Hello", limit=2, cursor=page.next)
    assert [j.id for j in rest.items] == [jobs[0].id] and rest.next is None
    stopped = await api.client.list_jobs(status="stopped")
    assert [j.id for j in stopped.items] == [jobs[0].id]
    by_id = await api.client.list_jobs(runbook=other.id)
    assert len(by_id.items) == 1
    everything = await api.client.list_jobs()
    assert len(everything.items) == 4

    for params, path in [
        ({"status": "sleeping"}, "$.status"),
        ({"runbook": "/Nope"}, "$.runbook"),
        ({"limit": "x"}, "$.limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "$.cursor"),
    ]:
        status, body = await api.request("GET", "/api/v1/jobs", params=params)
        assert status == 422, params
        assert body["error"]["path"] == path


async def test_instance_lists_every_run_in_start_order(api: Api) -> None:
    await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    instance_id = uuid.uuid4()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [
        (uuid.uuid4(), "start", "success", [{"Name": "x", "Status": "success"}], None),
        (uuid.uuid4(), "greet", "failed", [{"Status": "failed"}], "exit code 1"),
        (uuid.uuid4(), "greet", "running", [], None),
    ]
    async with api.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE jobs SET status = 'running', claimed_by = 's1', instance_id = $2,"
            " started_at = $3 WHERE id = $1::uuid",
            job.id, instance_id, t0,
        )
        await conn.execute(
            "INSERT INTO instances (id, job_id, server, status, started_at)"
            " VALUES ($1, $2::uuid, 's1', 'running', $3)",
            instance_id, job.id, t0,
        )
        for i, (run_id, activity, status, published, error) in enumerate(runs):
            await conn.execute(
                "INSERT INTO activity_runs (run_id, instance_id, activity, status, published,"
                " started_at, ended_at, error, parent_run, item)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                run_id, instance_id, activity, status, published,
                t0 + timedelta(seconds=10 - i),  # start order is insertion order, not clock
                None if status == "running" else t0 + timedelta(seconds=20),
                error, runs[0][0] if i else None, i,
            )
    status, body = await api.request("GET", f"/api/v1/instances/{instance_id}")
    assert status == 200
    assert body["job_id"] == job.id and body["server"] == "s1" and body["status"] == "running"
    assert [r["run_id"] for r in body["activity_runs"]] == [str(r[0]) for r in runs]
    first, second, third = body["activity_runs"]
    assert first["published"] == [{"Name": "x", "Status": "success"}]
    assert first["parent_run"] is None and second["parent_run"] == str(runs[0][0])
    assert second["error"] == "exit code 1" and second["item"] == 1
    assert third["ended_at"] is None and third["published"] == []
    assert set(first) >= {"activity", "status", "published", "started_at", "ended_at", "error",
                          "run_id", "parent_run", "item"}

    running = await api.client.get_job(job.id)
    assert running.instance_id == str(instance_id)
    assert running.instance_ids == [str(instance_id)] and running.server == "s1"


async def test_job_json_round_trips_through_the_client_types(api: Api) -> None:
    await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    status, body = await api.request("GET", f"/api/v1/jobs/{job.id}")
    assert status == 200
    assert msgspec.convert(body, Job, strict=False) == job
    assert json.dumps(body)


async def test_odd_parameter_values_are_422_not_500(api: Api) -> None:
    await api.client.check_in(typed_document())
    for value in ({"a": 1}, [1], None, 1.5, "1e3"):
        status, body = await api.request(
            "POST", "/api/v1/jobs",
            json_body={"runbook": "/Examples/Typed", "parameters": {"Name": "x", "Count": value}},
        )
        assert status == 422, (value, body)
        assert body["error"]["path"] == "$.parameters.Count"
    for runbook in ("", " ", "/", "x" * 5000, "/Examples/Typed/extra"):
        status, body = await api.request(
            "POST", "/api/v1/jobs", json_body={"runbook": runbook, "parameters": {}}
        )
        assert status == 404, (runbook, body)
    for runbook in ("//", "/Examples/../Typed", "/Examples/./Typed"):  # not a path at all
        status, body = await api.request(
            "POST", "/api/v1/jobs", json_body={"runbook": runbook, "parameters": {}}
        )
        assert (status, body["error"]["code"], body["error"]["path"]) == (
            422, "bad-path", "$.runbook"), (runbook, body)
