"""The designer's "Test": a draft run in memory over HTTP, with step mode and break points."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.gateway.conftest import Api, document

DEADLINE = 30.0


async def _until(api: Api, run_id: str, want: str, token: str | None = None) -> dict[str, Any]:
    """Long-poll the run until its state is ``want``; every event read on the way."""
    events: list[dict[str, Any]] = []
    after = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    kwargs = {} if token is None else {"token": token}
    while loop.time() < end:
        status, body = await api.request("GET", f"/api/v1/runbook-tests/{run_id}",
                                         params={"after": str(after), "wait": "5"}, **kwargs)
        assert status == 200, body
        events += body["events"]
        after = body["next"]
        if body["state"] == want:
            body["all_events"] = events
            return body
    raise AssertionError(f"test run never became {want}")


async def _start(api: Api, **body: Any) -> dict[str, Any]:
    status, run = await api.request("POST", "/api/v1/runbooks/test",
                                    json_body={"document": document(), **body})
    assert status == 201, run
    return run


async def test_a_draft_runs_in_memory_and_reports_each_activity(api: Api) -> None:
    run = await _start(api, parameters={"Name": "World"})
    assert run["runbook"] == "/Examples/Hello" and run["state"] in ("running", "finished")
    done = await _until(api, run["id"], "finished")
    assert done["status"] == "success" and done["returned_data"] == {"Greeting": "Hello, World!"}
    ended = {e["activity"]: e for e in done["all_events"] if e["event"] == "activity-ended"}
    assert ended["greet"]["status"] == "success"
    assert ended["greet"]["published"][0]["Output"] == "Hello, World!"
    assert [e["event"] for e in done["all_events"]][-1] == "finished"
    links = [e for e in done["all_events"] if e["event"] == "link"]
    assert {(e["source"], e["target"], e["followed"]) for e in links} == {
        ("start", "greet", True), ("greet", "done", True)}
    async with api.pool.acquire() as conn:  # nothing of production was touched
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0
        assert await conn.fetchval("SELECT count(*) FROM runbooks") == 0


async def test_break_point_step_continue_and_commands_out_of_turn(api: Api) -> None:
    run = await _start(api, parameters={"Name": "W"}, breakpoints=["greet"])
    paused = await _until(api, run["id"], "paused")
    assert paused["paused"]["activity"] == "greet" and paused["paused"]["why"] == "break"
    assert not any(e["event"] == "activity-started" and e["activity"] == "greet"
                   for e in paused["all_events"])
    status, body = await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                                     json_body={"command": "step"})
    assert status == 200
    paused = await _until(api, run["id"], "paused")
    assert paused["paused"]["activity"] == "done" and paused["paused"]["why"] == "step"
    status, _ = await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                                  json_body={"command": "continue"})
    assert status == 200
    done = await _until(api, run["id"], "finished")
    assert done["status"] == "success"
    status, body = await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                                     json_body={"command": "step"})
    assert status == 409 and body["error"]["code"] == "not-paused"
    status, body = await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                                     json_body={"command": "jump"})
    assert status == 422 and body["error"]["path"] == "$.command"


async def test_skip_and_quit(api: Api) -> None:
    run = await _start(api, parameters={"Name": "W"}, breakpoints=["greet"])
    await _until(api, run["id"], "paused")
    await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                      json_body={"command": "skip"})
    done = await _until(api, run["id"], "finished")
    kinds = [(e["event"], e.get("activity")) for e in done["all_events"]]
    assert ("skipped", "greet") in kinds and ("activity-started", "done") not in kinds

    run = await _start(api, parameters={"Name": "W"}, step=True)
    paused = await _until(api, run["id"], "paused")
    assert paused["paused"]["activity"] == "start"
    await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                      json_body={"command": "quit"})
    done = await _until(api, run["id"], "finished")
    assert done["status"] == "stopped"
    status, _ = await api.request("DELETE", f"/api/v1/runbook-tests/{run['id']}")
    assert status == 204
    status, _ = await api.request("GET", f"/api/v1/runbook-tests/{run['id']}")
    assert status == 404


async def test_bad_drafts_parameters_and_break_points_are_422(api: Api) -> None:
    bad = document()
    bad["activities"][1]["properties"]["args"] = ["{nowhere.Output}"]
    status, body = await api.request("POST", "/api/v1/runbooks/test", json_body={"document": bad})
    assert status == 422
    assert body["error"]["path"] == "$.document.activities[1].properties.args[0]"
    cases = [
        ({"parameters": {"Nope": "1"}}, "$.parameters.Nope"),
        ({"breakpoints": ["greet", "ghost"]}, "$.breakpoints[1]"),
        ({"step": "yes"}, "$.step"),
    ]
    for extra, path in cases:
        status, body = await api.request("POST", "/api/v1/runbooks/test",
                                         json_body={"document": document(), **extra})
        assert status == 422 and body["error"]["path"] == path, (extra, body)


async def test_runs_belong_to_their_starter_and_need_design(api: Api) -> None:
    run = await _start(api, parameters={"Name": "W"}, breakpoints=["greet"])
    other = await api.make_user("other", admin=True)
    status, _ = await api.request("GET", f"/api/v1/runbook-tests/{run['id']}", token=other)
    assert status == 404
    status, _ = await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                                  token=other, json_body={"command": "quit"})
    assert status == 404
    await api.request("POST", f"/api/v1/runbook-tests/{run['id']}/commands",
                      json_body={"command": "quit"})
    operator = await api.make_user("operator")
    status, _ = await api.request("POST", "/api/v1/runbooks/test", token=operator,
                                  json_body={"document": document()})
    assert status in (403, 404)
    status, _ = await api.request("GET", "/api/v1/runbook-tests/not-an-id")
    assert status == 404


async def test_a_child_runbook_comes_from_the_catalogue(api: Api) -> None:
    child = document(name="Child")
    await api.client.check_in(child)
    parent = document(name="Parent")
    parent["returns"] = [{"name": "Said"}]
    parent["activities"] = [
        parent["activities"][0],
        {"id": "call", "type": "invoke_runbook",
         "properties": {"runbook": "/Examples/Child", "parameters": {"Name": "{start.Name}"}}},
        {"id": "done", "type": "return_data", "properties": {"data": {"Said": "{call.Greeting}"}}},
    ]
    parent["links"] = [{"from": "start", "to": "call"}, {"from": "call", "to": "done"}]
    status, run = await api.request("POST", "/api/v1/runbooks/test",
                                    json_body={"document": parent, "parameters": {"Name": "Kid"}})
    assert status == 201, run
    done = await _until(api, run["id"], "finished")
    assert done["status"] == "success", done
    assert done["returned_data"] == {"Said": "Hello, Kid!"}
    async with api.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0


async def test_the_route_can_be_turned_off(pool) -> None:  # type: ignore[no-untyped-def]
    import aiohttp
    from aiohttp import web

    from orch.config import Settings
    from orch.db.bootstrap import bootstrap_admin
    from orch.gateway import make_app
    from tests.integration.gateway.conftest import ADMIN_TOKEN

    assert Settings.from_env({"ORCH_DESIGNER_TESTS": "off"}).designer_tests is False
    assert Settings.from_env({}).designer_tests is True
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="test-password")
    runner = web.AppRunner(make_app(Settings(designer_tests=False), pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/runbooks/test"
        async with aiohttp.ClientSession() as http, http.post(
            url, json={"document": document()},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as r:
            body = await r.json()
            assert r.status == 403 and body["error"]["code"] == "designer-tests-off"
    finally:
        await runner.cleanup()


async def test_an_unwatched_run_is_quit_and_forgotten(pool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import aiohttp
    from aiohttp import web

    from orch.config import Settings
    from orch.db.bootstrap import bootstrap_admin
    from orch.gateway import make_app, tester
    from tests.integration.gateway.conftest import ADMIN_TOKEN

    monkeypatch.setattr(tester, "IDLE_SECONDS", 0.5)
    monkeypatch.setattr(tester, "KEEP_SECONDS", 0.5)
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="test-password")
    app = make_app(Settings(), pool)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/runbooks/test"
        async with aiohttp.ClientSession() as http, http.post(
            url, json={"document": document(), "parameters": {"Name": "x"}, "step": True},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as r:
            run_id = (await r.json())["id"]
        run = app[tester.HUB].runs[run_id]
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE
        while run.state != "finished" and loop.time() < end:  # nobody polls it
            await asyncio.sleep(0.05)
        assert run.status == "stopped" and "nobody watched" in (run.error or "")
        while run_id in app[tester.HUB].runs and loop.time() < end:
            await asyncio.sleep(0.05)
        assert run_id not in app[tester.HUB].runs
    finally:
        await runner.cleanup()


async def test_a_user_runs_a_few_at_a_time(api: Api) -> None:
    runs = [await _start(api, parameters={"Name": "W"}, step=True) for _ in range(4)]
    status, body = await api.request("POST", "/api/v1/runbooks/test",
                                     json_body={"document": document(), "step": True,
                                                "parameters": {"Name": "W"}})
    assert status == 409 and body["error"]["code"] == "too-many-tests"
    await api.request("POST", f"/api/v1/runbook-tests/{runs[0]['id']}/commands",
                      json_body={"command": "quit"})
    await _until(api, runs[0]["id"], "finished")
    await _start(api, parameters={"Name": "W"})  # room again
    for run in runs[1:]:
        status, _ = await api.request("DELETE", f"/api/v1/runbook-tests/{run['id']}")
        assert status == 204
