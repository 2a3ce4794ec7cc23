"""Jobs beyond the first slice: filters, re-runs, idempotent starts, child jobs, the log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from orch.gateway.cursor import encode_cursor
from tests.integration.gateway.conftest import EXAMPLES, Api, document
from tests.integration.helpers import running_server, wait_job

MISSING = "00000000-0000-4000-8000-000000000000"


async def start(api: Api, body: dict, key: str | None = None, token: str | None = None):
    headers = api.auth(token) if token else api.auth()
    headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    async with api.http.post(f"{api.url}/api/v1/jobs", data=json.dumps(body),
                             headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers


async def test_list_by_server_and_time_range(api: Api) -> None:
    await api.client.check_in(document())
    jobs = [await api.client.start_job("/Examples/Hello", {"Name": str(i)}) for i in range(3)]
    async with api.pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET claimed_by = 'alpha' WHERE id = $1::uuid", jobs[1].id)
    on_alpha = await api.client.list_jobs()
    assert len(on_alpha.items) == 3
    status, body = await api.request("GET", "/api/v1/jobs", params={"server": "alpha"})
    assert status == 200 and [j["id"] for j in body["items"]] == [jobs[1].id]

    since = jobs[1].created_at.isoformat()
    status, body = await api.request("GET", "/api/v1/jobs", params={"since": since})
    assert [j["id"] for j in body["items"]] == [jobs[2].id, jobs[1].id]
    status, body = await api.request("GET", "/api/v1/jobs", params={"until": since})
    assert [j["id"] for j in body["items"]] == [jobs[0].id]
    status, body = await api.request("GET", "/api/v1/jobs", params={
        "since": jobs[0].created_at.isoformat(), "until": jobs[2].created_at.isoformat(),
        "limit": "1"})
    assert [j["id"] for j in body["items"]] == [jobs[1].id] and body["next"]
    status, body = await api.request("GET", "/api/v1/jobs", params={
        "since": jobs[0].created_at.isoformat(), "until": jobs[2].created_at.isoformat(),
        "limit": "1", "cursor": body["next"]})
    assert [j["id"] for j in body["items"]] == [jobs[0].id] and body["next"] is None

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for params, path in [
        ({"since": "yesterday"}, "$.since"),
        ({"until": "2026-13-01T00:00:00Z"}, "$.until"),
        ({"since": later, "until": since}, "$.since"),
        ({"cursor": encode_cursor(["x", "y"])}, "$.cursor"),
    ]:
        status, body = await api.request("GET", "/api/v1/jobs", params=params)
        assert status == 422, params
        assert body["error"]["path"] == path, params


async def test_rerun_same_version_or_latest(api: Api) -> None:
    created = await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "again"}, server=None)
    changed = document(description="v2")
    changed["activities"][0]["properties"]["parameters"].append(
        {"name": "Loud", "type": "boolean", "default": False})
    await api.client.check_in_version(created.id, changed)

    status, body = await api.request("POST", f"/api/v1/jobs/{job.id}/rerun")
    assert status == 201 and body["id"] != job.id
    assert body["runbook_version"] == 1 and body["parameters"] == {"Name": "again"}
    assert body["status"] == "queued" and body["created_by"] == "admin"

    status, body = await api.request("POST", f"/api/v1/jobs/{job.id}/rerun",
                                     params={"version": "latest"})
    assert status == 201 and body["runbook_version"] == 2
    assert body["parameters"] == {"Name": "again", "Loud": "false"}

    for path, params, expected in [
        (f"/api/v1/jobs/{MISSING}/rerun", None, 404),
        ("/api/v1/jobs/nope/rerun", None, 404),
        (f"/api/v1/jobs/{job.id}/rerun", {"version": "3"}, 422),
    ]:
        status, body = await api.request("POST", path, params=params)
        assert status == expected, path
    operator = await api.make_user("op")
    status, _ = await api.request("POST", f"/api/v1/jobs/{job.id}/rerun", token=operator)
    assert status == 404  # no grant: the job is not visible to the operator


async def test_rerun_with_parameters_the_latest_version_refuses_is_422(api: Api) -> None:
    created = await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    changed = document()
    changed["activities"][0]["properties"]["parameters"] = [{"name": "Other", "type": "string"}]
    changed["activities"][1]["properties"]["args"] = ["{start.Other}"]
    await api.client.check_in_version(created.id, changed)
    status, body = await api.request("POST", f"/api/v1/jobs/{job.id}/rerun",
                                     params={"version": "latest"})
    assert status == 422 and body["error"]["code"] == "invalid-parameters"


async def test_idempotency_key_returns_the_same_job(api: Api) -> None:
    await api.client.check_in(document())
    body = {"runbook": "/Examples/Hello", "parameters": {"Name": "once"}}
    status, first, headers = await start(api, body, key="order-42")
    assert status == 201 and "Idempotent-Replayed" not in headers
    status, again, headers = await start(api, body, key="order-42")
    assert status == 201 and again["id"] == first["id"]
    assert headers["Idempotent-Replayed"] == "true"
    assert headers["Location"] == f"/api/v1/jobs/{first['id']}"

    status, other = await api.request("GET", "/api/v1/jobs")
    assert [j["id"] for j in other["items"]] == [first["id"]]

    status, err, _ = await start(api, {**body, "parameters": {"Name": "twice"}}, key="order-42")
    assert status == 409 and err["error"]["code"] == "idempotency-key-reused"
    bob = await api.make_user("bob", admin=True)
    status, bobs, _ = await start(api, body, key="order-42", token=bob)
    assert status == 201 and bobs["id"] != first["id"]  # keys are per user

    for bad in ("", "x" * 256, "tab\there", "é"):
        try:
            status, err, _ = await start(api, body, key=bad)
        except ValueError:  # the client library refuses some header values itself
            continue
        assert status == 422, bad
        assert err["error"]["path"] == "Idempotency-Key"


async def test_concurrent_retries_start_one_job(api: Api) -> None:
    await api.client.check_in(document())
    body = {"runbook": "/Examples/Hello", "parameters": {"Name": "race"}}
    answers = await asyncio.gather(*(start(api, body, key="same") for _ in range(8)))
    assert {a[0] for a in answers} == {201}
    assert len({a[1]["id"] for a in answers}) == 1
    assert sum(1 for a in answers if "Idempotent-Replayed" not in a[2]) == 1
    async with api.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 1


async def test_a_failed_start_leaves_the_key_free(api: Api) -> None:
    await api.client.check_in(document())
    status, _, _ = await start(api, {"runbook": "/Examples/Hello", "parameters": {}}, key="k1")
    assert status == 422
    status, job, _ = await start(api, {"runbook": "/Examples/Hello", "parameters": {}}, key="k1")
    assert status == 422  # the same (invalid) request again: still validated, not replayed
    status, job, _ = await start(
        api, {"runbook": "/Examples/Hello", "parameters": {"Name": "ok"}}, key="k2")
    assert status == 201
    status, _again, _ = await start(api, {"runbook": "/Examples/Hello"}, key="k2")
    assert status == 409
    status, _rerun = await api.request("POST", f"/api/v1/jobs/{job['id']}/rerun")
    assert status == 201


async def test_rerun_is_idempotent_too(api: Api) -> None:
    await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    headers = {**api.auth(), "Idempotency-Key": "rerun-1"}
    ids = []
    for _ in range(2):
        async with api.http.post(f"{api.url}/api/v1/jobs/{job.id}/rerun",
                                 headers=headers) as resp:
            assert resp.status == 201
            ids.append((await resp.json())["id"])
    assert ids[0] == ids[1] != job.id


async def test_instance_shows_child_jobs_and_the_log_streams(api: Api, dsn: str) -> None:
    for name in ("parent.json", "child.json"):
        await api.client.check_in(json.loads((EXAMPLES / name).read_text()))
    talk = {
        "format": "orch.runbook/1", "name": "Talk", "folder": "/Tests",
        "activities": [
            {"id": "start", "type": "initialize_data", "properties": {"parameters": []}},
            {"id": "say", "type": "run_program",
             "properties": {"program": "sh",
                            "args": ["-c", "echo one; echo oops >&2; printf 'two\\nthree'"]}},
        ],
        "links": [{"from": "start", "to": "say"}],
    }
    await api.client.check_in(talk)
    async with running_server(dsn):
        parent = await api.client.start_job("/Examples/Parent", {"Number": "4"})
        talking = await api.client.start_job("/Tests/Talk", {})
        done = await wait_job(api.pool, parent.id)
        assert done.status == "success"
        said = await wait_job(api.pool, talking.id)
        assert said.status == "success"

        instance = await api.client.get_instance(done.instance_id)
        assert len(instance.child_jobs) == 1
        child = instance.child_jobs[0]
        assert child.runbook_path == "/Examples/Child" and child.status == "success"
        assert child.ended_at is not None
        runs = {r.activity: r for r in instance.activity_runs}
        assert runs["child"].published[0]["ChildJobId"] == child.id

        async def lines() -> list[dict]:
            status, page = await api.request("GET", f"/api/v1/instances/{said.instance_id}/log")
            assert status == 200
            return page["items"] if len(page["items"]) >= 4 else []

        from tests.integration.helpers import eventually

        items = await eventually(lines, timeout=10)
    by_stream = {(i["stream"], i["text"]) for i in items}
    assert by_stream == {("stdout", "one"), ("stderr", "oops"), ("stdout", "two"),
                         ("stdout", "three")}
    assert all(i["activity"] == "say" and i["run_id"] for i in items)
    stdout = [i["text"] for i in items if i["stream"] == "stdout"]
    assert stdout == ["one", "two", "three"]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)

    _, page = await api.request("GET", f"/api/v1/instances/{said.instance_id}/log",
                                     params={"stream": "stderr"})
    assert [i["text"] for i in page["items"]] == ["oops"]
    run_id = items[0]["run_id"]
    _, page = await api.request("GET", f"/api/v1/instances/{said.instance_id}/log",
                                     params={"run": run_id, "limit": "2"})
    assert len(page["items"]) == 2 and page["next"]
    _status, rest = await api.request("GET", f"/api/v1/instances/{said.instance_id}/log",
                                     params={"run": run_id, "limit": "2",
                                             "cursor": page["next"]})
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in items]


async def test_log_pages_and_follow_semantics(api: Api) -> None:
    await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    async with api.pool.acquire() as conn, conn.transaction():
        instance = await conn.fetchval(
            "INSERT INTO instances (id, job_id, server, status) "
            "VALUES (gen_random_uuid(), $1::uuid, 's1', 'running') RETURNING id", job.id)
        await conn.executemany(
            "INSERT INTO instance_log (instance_id, activity, stream, at, text) "
            "VALUES ($1, 'greet', $2, now(), $3)",
            [(instance, "log" if i % 3 else "stdout", f"line {i}") for i in range(7)])
    path = f"/api/v1/instances/{instance}/log"
    status, page = await api.request("GET", path, params={"limit": "5"})
    assert [i["text"] for i in page["items"]] == [f"line {i}" for i in range(5)]
    status, rest = await api.request("GET", path, params={"limit": "5", "cursor": page["next"]})
    assert [i["text"] for i in rest["items"]] == ["line 5", "line 6"]
    assert rest["next"] is not None  # still running: a follower asks again
    status, empty = await api.request("GET", path, params={"cursor": rest["next"]})
    assert empty["items"] == [] and empty["next"] == rest["next"]
    status, logs = await api.request("GET", path, params={"stream": "stdout"})
    assert [i["text"] for i in logs["items"]] == ["line 0", "line 3", "line 6"]

    async with api.pool.acquire() as conn:
        await conn.execute("UPDATE instances SET status = 'success', "
                           "ended_at = now() - interval '1 minute' WHERE id = $1", instance)
    status, done = await api.request("GET", path)
    assert len(done["items"]) == 7 and done["next"] is None

    for params, code, where in [
        ({"stream": "debug"}, 422, "$.stream"),
        ({"limit": "0"}, 422, "$.limit"),
        ({"run": "x"}, 422, "$.run"),
        ({"cursor": "%%"}, 422, "$.cursor"),
    ]:
        status, body = await api.request("GET", path, params=params)
        assert status == code and body["error"]["path"] == where, params
    status, _ = await api.request("GET", f"/api/v1/instances/{MISSING}/log")
    assert status == 404
