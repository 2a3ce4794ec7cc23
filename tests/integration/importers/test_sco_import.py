"""``POST /api/v1/runbooks/import-sco`` over a real gateway and database: the report, one
transaction, re-import by SCO UniqueID, dry runs, rights, and the bad inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.gateway.conftest import ADMIN_TOKEN, Api

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sco"
ROUTE = "/api/v1/runbooks/import-sco"


def export(name: str = "greet.ois_export") -> bytes:
    return (FIXTURES / name).read_bytes()


async def post(api: Api, body: bytes, *, folder: str | None = "/Imported",
               dry_run: bool = False, token: str = ADMIN_TOKEN,
               content_type: str = "application/xml") -> tuple[int, Any]:  # fmt: skip
    params = {}
    if folder is not None:
        params["folder"] = folder
    if dry_run:
        params["dry_run"] = "true"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    async with api.http.post(f"{api.url}{ROUTE}", data=body, headers=headers,
                             params=params) as resp:  # fmt: skip
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def count(api: Api, sql: str) -> int:
    return int(await api.pool.fetchval(sql))


async def snapshot(api: Api) -> tuple[int, int, int, int, int]:
    return (await count(api, "SELECT count(*) FROM runbooks"),
            await count(api, "SELECT count(*) FROM runbook_versions"),
            await count(api, "SELECT count(*) FROM variables"),
            await count(api, "SELECT count(*) FROM counters"),
            await count(api, "SELECT count(*) FROM folders"))  # fmt: skip


async def test_import_writes_runbooks_under_the_folder_with_a_report(api: Api) -> None:
    status, report = await post(api, export())
    assert status == 200, report
    assert report["dry_run"] is False
    by_path = {r["path"]: r for r in report["runbooks"]}
    assert set(by_path) == {"/Imported/Ops/Greet", "/Imported/Ops/Children/Make Greeting"}
    greet = by_path["/Imported/Ops/Greet"]
    assert greet["action"] == "created" and greet["version"] == 1 and greet["enabled"] is True
    assert greet["sco_unique_id"] == "{A0000000-0000-0000-0000-000000000001}"
    shown = [(a["name"], a["sco_type"], a["type"], a["placeholder"]) for a in greet["activities"]]
    assert shown == [
        ("Initialize Data", "Custom Start", "initialize_data", False),
        ("Make Greeting", "Trigger Policy", "invoke_runbook", False),
        ("Return Greeting", "Return Data", "return_data", False),
        ("Return Refusal", "Return Data", "return_data", False),
    ]  # fmt: skip
    child = by_path["/Imported/Ops/Children/Make Greeting"]
    assert child["enabled"] is True  # a renamed parameter is reported, not blocking
    assert any("Person_Name" in w for w in child["warnings"])
    assert report["variables"] == [
        {"name": "Sender_Name", "sco_name": "Sender Name", "encrypted": False,
         "needs_value": False, "action": "created"},
        {"name": "SmtpPassword", "sco_name": "SmtpPassword", "encrypted": True,
         "needs_value": True, "action": "created"},
    ]  # fmt: skip
    assert report["counters"] == [{"name": "Greetings", "default": 5, "action": "created"}]
    assert report["schedules"] == [{"name": "Business Hours", "needs_definition": True}]
    assert any("Business Hours" in w for w in report["warnings"])
    row = await api.pool.fetchrow("SELECT value, encrypted FROM variables WHERE name = $1",
                                  "SmtpPassword")  # fmt: skip
    assert (row["value"], row["encrypted"]) == ("", True)
    assert await api.pool.fetchval("SELECT value FROM counters WHERE name = 'Greetings'") == 5
    detail = await api.client.get_runbook(greet["id"])
    doc = detail.document
    assert doc["metadata"] == {"sco.unique_id": "{A0000000-0000-0000-0000-000000000001}",
                               "sco.path": "Ops\\Greet"}  # fmt: skip
    assert doc["activities"][0]["position"] == {"x": 100.0, "y": 200.0}
    assert detail.versions[0].comment == "imported from SCO"


async def test_reimport_updates_the_same_runbooks_only_where_something_changed(api: Api) -> None:
    status, first = await post(api, export())
    assert status == 200, first
    before = await snapshot(api)
    status, again = await post(api, export())
    assert status == 200, again
    assert [r["action"] for r in again["runbooks"]] == ["unchanged", "unchanged"]
    assert [r["id"] for r in again["runbooks"]] == [r["id"] for r in first["runbooks"]]
    assert [v["action"] for v in again["variables"]] == ["kept", "kept"]
    assert await snapshot(api) == before
    # the child changes in SCO (its greeting program): only it gets a version
    changed = export().replace(b"Hello, %s", b"Hi there, %s")
    status, third = await post(api, changed)
    assert status == 200, third
    assert [(r["action"], r["version"]) for r in third["runbooks"]] == [
        ("unchanged", 1), ("updated", 2)]
    assert [r["id"] for r in third["runbooks"]] == [r["id"] for r in first["runbooks"]]
    assert (await count(api, "SELECT count(*) FROM runbooks")) == before[0]


async def test_reimport_finds_a_moved_runbook_by_its_unique_id(api: Api) -> None:
    status, first = await post(api, export())
    assert status == 200
    status, moved = await post(api, export(), folder="/Elsewhere")
    assert status == 200, moved
    assert [r["id"] for r in moved["runbooks"]] == [r["id"] for r in first["runbooks"]]
    assert [r["path"] for r in moved["runbooks"]] == [
        "/Elsewhere/Ops/Greet", "/Elsewhere/Ops/Children/Make Greeting"]
    assert await count(api, "SELECT count(*) FROM runbooks") == 2
    detail = await api.client.get_runbook(moved["runbooks"][0]["id"])
    assert detail.document["activities"][1]["properties"]["runbook"] == (
        "/Elsewhere/Ops/Children/Make Greeting")


async def test_a_variable_edited_in_orch_is_kept_on_reimport(api: Api) -> None:
    assert (await post(api, export()))[0] == 200
    await api.pool.execute("UPDATE variables SET value = 'set-by-user' WHERE name = $1",
                           "Sender_Name")  # fmt: skip
    status, again = await post(api, export())
    assert status == 200 and again["variables"][0]["action"] == "kept"
    assert await api.pool.fetchval("SELECT value FROM variables WHERE name = 'Sender_Name'") == (
        "set-by-user")


async def test_a_dry_run_reports_and_writes_nothing(api: Api) -> None:
    before = await snapshot(api)
    status, report = await post(api, export(), dry_run=True)
    assert status == 200, report
    assert report["dry_run"] is True
    assert [(r["action"], r["id"]) for r in report["runbooks"]] == [
        ("created", None), ("created", None)]
    assert [v["action"] for v in report["variables"]] == ["created", "created"]
    assert await snapshot(api) == before


async def test_the_design_right_on_the_destination_is_needed(api: Api) -> None:
    token = await api.make_user("designer")
    user_id = await api.pool.fetchval("SELECT id FROM users WHERE name = 'designer'")
    status, body = await post(api, export(), token=token)
    assert status == 404, body  # not even visible
    await api.pool.execute(
        "INSERT INTO grants (id, principal_kind, principal_id, target_path, rights) "
        "VALUES (gen_random_uuid(), 'user', $1, '/Imported', ARRAY['view', 'design'])", user_id)
    status, body = await post(api, export(), token=token)
    assert status == 403, body  # variables and counters need design on /
    assert "/" in body["error"]["message"]
    no_globals = export().split(b"<GlobalSettings>")[0] + b"</ExportData>"
    status, body = await post(api, no_globals, token=token)
    assert status == 200, body
    assert len(body["runbooks"]) == 2


async def test_the_export_must_be_sent_as_xml(api: Api) -> None:
    status, body = await post(api, export(), content_type="application/json")
    assert status == 415, body
    assert body["error"]["code"] == "unsupported-media-type"


async def test_bad_exports_are_refused_with_a_clear_message_and_nothing_written(
    api: Api,
) -> None:
    before = await snapshot(api)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b"<ExportData>&lol2;</ExportData>")  # fmt: skip
    external = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<ExportData>&e;</ExportData>")  # fmt: skip
    unnamed = export().replace(b'<Name datatype="string">Greet</Name>', b"")
    deep = b"<ExportData>" + b"<Folder>" * 200 + b"</Folder>" * 200 + b"</ExportData>"
    cases = [
        (b"this is not xml", 400, "not-xml", "not XML"),
        (b"<ExportData><Policies>", 400, "not-xml", "line 1"),
        (b"<Runbooks/>", 422, "not-an-export", "<ExportData>"),
        (bomb, 400, "forbidden-xml", "DTD"),
        (external, 400, "forbidden-xml", "DTD"),
        (deep, 400, "too-deep", "deep"),
        (unnamed, 422, "unnamed-policy", "has no name"),
    ]
    for body, want_status, code, words in cases:
        status, answer = await post(api, body)
        assert status == want_status, (body[:40], answer)
        assert answer["error"]["code"] == code, answer
        assert words in answer["error"]["message"], answer
    assert await snapshot(api) == before


async def test_a_50_mb_export_is_refused_413(api: Api) -> None:
    before = await snapshot(api)
    big = b"<ExportData>" + b" " * (50 * 1024 * 1024) + b"</ExportData>"
    try:
        status, answer = await post(api, big)
    except aiohttp.ClientError:  # the server may close before reading it all
        status, answer = 413, {"error": {"code": "body-too-large"}}
    assert status == 413, answer
    assert answer["error"]["code"] == "body-too-large"
    assert await snapshot(api) == before


async def test_the_route_is_in_the_openapi_document(api: Api) -> None:
    status, doc = await api.request("GET", "/api/v1/openapi.json")
    assert status == 200
    op = doc["paths"][ROUTE]["post"]
    assert op["requestBody"]["content"] == {"application/xml": {"schema": {"type": "string"}}}
    assert {p["name"] for p in op["parameters"]} == {"folder", "dry_run"}
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    report = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(report["required"]) >= {"runbooks", "variables", "counters", "schedules",
                                       "warnings"}  # fmt: skip
    for code in ("400", "403", "413", "415", "422"):
        assert code in op["responses"]


async def test_reimport_keeps_an_enabled_runbook_enabled_and_disables_one_needing_review(
    api: Api,
) -> None:
    placeholder = export().replace(b'<ObjectTypeName datatype="string">Run Program',
                                   b'<ObjectTypeName datatype="string">Get Alert')  # fmt: skip
    status, first = await post(api, placeholder)
    assert status == 200, first
    child = first["runbooks"][1]
    assert (child["enabled"], child["activities"][1]["placeholder"]) == (False, True)
    # the SCO author replaces the activity: the new version runs, but the runbook stays
    # disabled until someone enables it (orch never enables what a person disabled)
    status, second = await post(api, export())
    assert status == 200, second
    assert (second["runbooks"][1]["action"], second["runbooks"][1]["enabled"]) == (
        "updated", False)
    status, body = await api.request("POST", f"/api/v1/runbooks/{child['id']}/enable")
    assert (status, body["disabled"]) == (200, False), body
    status, third = await post(api, export())
    assert (third["runbooks"][1]["action"], third["runbooks"][1]["enabled"]) == (
        "unchanged", True)
    # a new version that needs review again disables it
    status, fourth = await post(api, placeholder)
    assert (fourth["runbooks"][1]["action"], fourth["runbooks"][1]["enabled"]) == (
        "updated", False)
    disabled = await api.pool.fetchval(
        "SELECT disabled_at IS NOT NULL FROM runbooks WHERE id = $1::uuid", child["id"])
    assert disabled is True
