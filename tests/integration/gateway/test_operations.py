"""Operations data: runbook servers, integration packs, the event log (and the audit log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.gateway.conftest import Api, document

SERVER_FIELDS = {"name", "status", "host", "pid", "capacity", "running", "packs", "started_at",
                 "heartbeat_at", "heartbeat_age_seconds", "available", "accepts_pushes"}


async def add_server(api: Api, name: str, *, status: str = "up", age: str = "0 seconds",
                     capacity: int = 4, packs: str = '["core"]') -> None:
    async with api.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO servers (name, status, host, pid, capacity, packs, heartbeat_at) "
            "VALUES ($1, $2, 'box', 42, $3, $4::text::jsonb, now() - $5::text::interval)",
            name, status, capacity, packs, age)


async def test_servers_state_heartbeat_capacity_running(api: Api) -> None:
    await add_server(api, "alpha")
    await add_server(api, "beta", age="10 minutes", packs='["core", "extra"]')
    await add_server(api, "gamma", status="maintenance")
    await api.client.check_in(document())
    job = await api.client.start_job("/Examples/Hello", {"Name": "x"})
    async with api.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO instances (id, job_id, server, status) "
            "VALUES (gen_random_uuid(), $1::uuid, 'alpha', 'running')", job.id)

    status, body = await api.request("GET", "/api/v1/servers")
    assert status == 200 and body["next"] is None
    by_name = {s["name"]: s for s in body["items"]}
    assert list(by_name) == ["alpha", "beta", "gamma"]
    alpha, beta, gamma = by_name["alpha"], by_name["beta"], by_name["gamma"]
    assert set(alpha) == SERVER_FIELDS
    assert alpha["running"] == 1 and alpha["capacity"] == 4 and alpha["available"] is True
    assert alpha["packs"] == ["core"] and alpha["host"] == "box" and alpha["pid"] == 42
    assert 0 <= alpha["heartbeat_age_seconds"] < 60
    assert beta["available"] is False and beta["heartbeat_age_seconds"] >= 600
    assert beta["packs"] == ["core", "extra"]
    assert gamma["status"] == "maintenance" and gamma["available"] is False
    assert [s["accepts_pushes"] for s in (alpha, beta, gamma)] == [False, False, False]

    status, page = await api.request("GET", "/api/v1/servers", params={"limit": "2"})
    assert [s["name"] for s in page["items"]] == ["alpha", "beta"]
    status, rest = await api.request("GET", "/api/v1/servers",
                                     params={"limit": "2", "cursor": page["next"]})
    assert [s["name"] for s in rest["items"]] == ["gamma"] and rest["next"] is None

    status, one = await api.request("GET", "/api/v1/servers/beta")
    assert status == 200 and one["name"] == "beta"
    status, body = await api.request("GET", "/api/v1/servers/nope")
    assert status == 404 and body["error"]["code"] == "not-found"


async def test_integration_packs_from_the_gateway_and_the_servers(api: Api) -> None:
    await add_server(api, "alpha", packs='["core", "thirdparty"]')
    await add_server(api, "beta", packs='["core"]')
    status, body = await api.request("GET", "/api/v1/integration-packs")
    assert status == 200
    by_name = {p["name"]: p for p in body["items"]}
    core = by_name["core"]
    assert core["installed_on_gateway"] is True and core["servers"] == ["alpha", "beta"]
    names = {a["name"] for a in core["activities"]}
    assert {"run_program", "initialize_data", "return_data", "junction"} <= names
    run_program = next(a for a in core["activities"] if a["name"] == "run_program")
    assert run_program["qualified_name"] == "core:run_program"
    assert run_program["rerunnable"] is False
    other = by_name["thirdparty"]
    assert other == {"name": "thirdparty", "version": None, "installed_on_gateway": False,
                     "activities": [], "servers": ["alpha"]}

    status, page = await api.request("GET", "/api/v1/integration-packs", params={"limit": "1"})
    assert len(page["items"]) == 1 and page["next"]
    status, rest = await api.request("GET", "/api/v1/integration-packs",
                                     params={"cursor": page["next"]})
    assert page["items"][0]["name"] not in {p["name"] for p in rest["items"]}
    assert len(page["items"]) + len(rest["items"]) == len(body["items"])


async def test_events_newest_first_with_filters(api: Api) -> None:
    await add_server(api, "alpha")
    created = await api.client.check_in(document())
    other = await api.client.check_in(document(name="Other"))
    first = await api.client.start_job("/Examples/Hello", {"Name": "1"})
    second = await api.client.start_job(other.id, {"Name": "2"})
    await api.client.stop_job(first.id)
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO events (kind, status, server) "
                           "VALUES ('server', 'down', 'alpha')")

    status, body = await api.request("GET", "/api/v1/events")
    assert status == 200
    items = body["items"]
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs, reverse=True)
    assert [(e["kind"], e["status"]) for e in items] == [
        ("server", "down"), ("job", "stopped"), ("job", "queued"), ("job", "queued")]
    assert items[1]["job_id"] == first.id and items[1]["data"] == {"stop_requested": True}
    assert items[1]["runbook_id"] == created.id and items[1]["actor"] is None

    async def listed(**params: str) -> list[tuple[str, str | None]]:
        status, body = await api.request("GET", "/api/v1/events", params=params)
        assert status == 200, body
        return [(e["kind"], e["job_id"]) for e in body["items"]]

    assert await listed(kind="server") == [("server", None)]
    assert await listed(job=first.id) == [("job", first.id), ("job", first.id)]
    assert await listed(runbook="/Examples/Other") == [("job", second.id)]
    assert await listed(runbook=created.id) == [("job", first.id), ("job", first.id)]
    assert await listed(server="alpha") == [("server", None)]
    assert await listed(until=(datetime.now(UTC) - timedelta(days=1)).isoformat()) == []
    assert len(await listed(since=(datetime.now(UTC) - timedelta(days=1)).isoformat())) == 4

    status, page = await api.request("GET", "/api/v1/events", params={"limit": "3"})
    status, rest = await api.request("GET", "/api/v1/events",
                                     params={"limit": "3", "cursor": page["next"]})
    assert [e["seq"] for e in page["items"] + rest["items"]] == seqs and rest["next"] is None

    for params, path in [
        ({"kind": "weather"}, "$.kind"),
        ({"job": "not-an-id"}, "$.job"),
        ({"instance": "x"}, "$.instance"),
        ({"runbook": "/Nope"}, "$.runbook"),
        ({"since": "soon"}, "$.since"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "$.since"),
        ({"kind": "audit", "job": first.id}, "$.job"),
        ({"limit": "1001"}, "$.limit"),
    ]:
        status, body = await api.request("GET", "/api/v1/events", params=params)
        assert status == 422, params
        assert body["error"]["path"] == path, params


async def test_the_audit_log_reads_through_events(api: Api) -> None:
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO audit (actor, action, target, data) VALUES "
                           "('admin', 'grant', '/Ops', '{\"rights\": [\"view\"]}'::jsonb)")
    status, body = await api.request("GET", "/api/v1/events", params={"kind": "audit"})
    assert status == 200
    newest = body["items"][0]
    assert newest["kind"] == "audit" and newest["actor"] == "admin"
    assert newest["action"] == "grant" and newest["target"] == "/Ops"
    assert newest["data"] == {"rights": ["view"]} and newest["job_id"] is None
    actions = [e["action"] for e in body["items"]]
    assert len(actions) >= 2  # the bootstrap's entry too


async def test_operations_need_rights(api: Api) -> None:
    operator = await api.make_user("operator")
    for path in ("/api/v1/servers", "/api/v1/servers/x", "/api/v1/integration-packs"):
        status, _ = await api.request("GET", path, token=operator)
        assert status == 403, path
        status, _body = await api.request("GET", path, token=None)
        assert status == 401, path
    # lists an operator may read are filtered to its grants: without any, nearly empty
    status, body = await api.request("GET", "/api/v1/events", token=operator)
    assert status == 200 and body["items"] == []
    status, body = await api.request("GET", "/api/v1/folders", token=operator)
    assert status == 200 and [f["path"] for f in body["items"]] == ["/"]
    status, _ = await api.request("GET", "/api/v1/events", token=operator,
                                  params={"kind": "audit"})
    assert status == 403


async def test_events_of_newer_kinds_are_listed_not_refused(api: Api) -> None:
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO events (kind, status) VALUES ('runbook', 'disabled'), "
                           "('notification', 'failed_to_run'), ('weather', 'sunny')")
    status, body = await api.request("GET", "/api/v1/events")
    assert status == 200
    assert [e["kind"] for e in body["items"][:3]] == ["weather", "notification", "runbook"]
    status, body = await api.request("GET", "/api/v1/events", params={"kind": "notification"})
    assert [e["status"] for e in body["items"]] == ["failed_to_run"]
