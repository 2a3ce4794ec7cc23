"""The activity-type catalogue, the runbook JSON Schema and the outline of a draft."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs

from orch.db.packs import PackRecord, TypeRecord, register_pack
from tests.integration.gateway.conftest import EXAMPLES, Api, document

_ACME_INPUT = {
    "type": "object",
    "properties": {"host": {"type": "string"}, "count": {"type": "integer", "default": 3},
                   "mode": {"enum": ["fast", "slow"], "default": "fast"}},
    "required": ["host"],
    "additionalProperties": False,
}
_ACME_OUTPUT = {"type": "object", "properties": {"Reply": {"type": "string"}},
                "required": ["Reply"], "additionalProperties": False}


async def _register_acme(api: Api) -> None:
    async with api.pool.acquire() as conn, conn.transaction():
        await register_pack(conn, PackRecord(
            name="acme", version="1.0", distribution="orch-acme", types=[TypeRecord(
                name="ping", display_name="Ping a host", category="Network",
                description="Sends one ping.", input_schema=_ACME_INPUT,
                output_schema=_ACME_OUTPUT)]), registered_by="test")  # fmt: skip


async def test_list_has_core_and_registered_types_with_schemas(api: Api) -> None:
    await _register_acme(api)
    status, body = await api.request("GET", "/api/v1/activity-types")
    assert status == 200 and body["next"] is None
    by_type = {t["type"]: t for t in body["items"]}
    assert [t["type"] for t in body["items"]] == sorted(by_type)

    run = by_type["core:run_program"]
    assert run["name"] == "run_program" and run["plain_name"] is True
    assert run["display_name"] == "Run Program" and run["category"] == "System"
    assert run["description"] and run["installed_on_gateway"] is True
    assert run["input_schema"]["required"] == ["program"]
    assert run["input_schema"]["properties"]["split_output"]["default"] is False
    assert run["output_schema"]["x-orch-dynamic"] is True

    acme = by_type["acme:ping"]
    assert acme["installed_on_gateway"] is False and acme["plain_name"] is True
    assert acme["display_name"] == "Ping a host" and acme["category"] == "Network"
    assert acme["input_schema"] == _ACME_INPUT and acme["output_schema"] == _ACME_OUTPUT

    status, body = await api.request("GET", "/api/v1/activity-types",
                                     params={"category": "Network"})
    assert [t["type"] for t in body["items"]] == ["acme:ping"]


async def test_pages_and_bad_queries(api: Api) -> None:
    status, first = await api.request("GET", "/api/v1/activity-types", params={"limit": "2"})
    assert status == 200 and len(first["items"]) == 2 and first["next"]
    status, second = await api.request("GET", "/api/v1/activity-types",
                                       params={"limit": "2", "cursor": first["next"]})
    assert status == 200 and second["items"][0]["type"] > first["items"][1]["type"]
    for params, path in (({"limit": "0"}, "$.limit"), ({"cursor": "!!"}, "$.cursor"),
                         ({"bogus": "1"}, "$.bogus")):
        status, body = await api.request("GET", "/api/v1/activity-types", params=params)
        assert status == 422 and body["error"]["path"] == path, params


async def test_get_one_by_plain_or_qualified_name(api: Api) -> None:
    await _register_acme(api)
    for name in ("junction", "core:junction"):
        status, body = await api.request("GET", f"/api/v1/activity-types/{name}")
        assert status == 200 and body["type"] == "core:junction", name
    status, body = await api.request("GET", "/api/v1/activity-types/ping")
    assert status == 200 and body["type"] == "acme:ping"
    status, body = await api.request("GET", "/api/v1/activity-types/nope")
    assert status == 404 and "no activity type 'nope'" in body["error"]["message"]


async def test_any_authenticated_caller_reads_types_but_not_anonymous(api: Api) -> None:
    operator = await api.make_user("operator")  # no grant at all
    status, body = await api.request("GET", "/api/v1/activity-types/run_program", token=operator)
    assert status == 200 and body["type"] == "core:run_program"
    status, _ = await api.request("GET", "/api/v1/activity-types", token=None)
    assert status == 401


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator(schema)


async def test_runbook_schema_is_public_and_validates_documents(api: Api) -> None:
    await _register_acme(api)
    status, schema = await api.request("GET", "/api/v1/schemas/runbook.json", token=None)
    assert status == 200
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{api.url}/api/v1/schemas/runbook.json"
    check = _validator(schema)
    for file in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(file.read_text())
        errors = [e.message for e in check.iter_errors(doc)]
        assert errors == [], (file.name, errors)

    def errors_of(doc: dict[str, Any]) -> list[str]:
        return [e.message for e in check.iter_errors(doc)]

    bad = document()
    bad["activities"][1]["properties"] = {"programm": "echo"}  # a typo, and program missing
    messages = " ".join(errors_of(bad))
    assert "programm" in messages and "program" in messages
    assert errors_of(document(bogus=1)) != []  # unknown top-level key
    assert errors_of(document(format="orch.runbook/2")) != []

    lenient = document()  # an expression where an integer or enum is asked for is fine
    lenient["activities"][1]["properties"]["max_output_bytes"] = "{start.Name}"
    lenient["activities"].append({"id": "p", "type": "acme:ping",
                                  "properties": {"host": "h", "count": "{start.Name}",
                                                 "mode": "slow"}})
    assert errors_of(lenient) == []
    lenient["activities"][-1]["properties"] = {"count": 2}  # host is required by the pack
    assert any("host" in m for m in errors_of(lenient))
    positioned = document()
    positioned["activities"][0]["position"] = {"x": 10, "y": 20}
    assert errors_of(positioned) == []
    positioned["activities"][0]["position"] = {"x": "left"}
    assert errors_of(positioned) != []


async def test_outline_names_fields_and_upstream(api: Api) -> None:
    doc = document()
    doc["activities"].insert(2, {"id": "lines", "type": "run_program",
                                 "properties": {"program": "ls", "split_output": True}})
    doc["links"] = [{"from": "start", "to": "greet"}, {"from": "greet", "to": "lines"},
                    {"from": "lines", "to": "done"}]
    status, body = await api.request("POST", "/api/v1/runbooks/outline", json_body=doc)
    assert status == 200, body
    acts = {a["id"]: a for a in body["activities"]}
    assert acts["start"]["fields"][:1] == ["Name"] and "Status" in acts["start"]["fields"]
    assert {"Output", "ExitCode", "ErrorOutput"} <= set(acts["greet"]["fields"])
    assert {"Line", "LineNumber"} <= set(acts["lines"]["fields"])
    assert acts["done"]["upstream"] == ["start", "greet", "lines"]
    assert acts["start"]["upstream"] == []
    assert acts["greet"]["known_type"] == "core:run_program"
    assert body["parameters"] == ["Name"] and "JobId" in body["runbook_fields"]

    # a broken draft still outlines: unknown type, a cycle
    doc["activities"].append({"id": "odd", "type": "no_such_type"})
    doc["links"] += [{"from": "done", "to": "odd"}, {"from": "odd", "to": "lines"}]
    status, body = await api.request("POST", "/api/v1/runbooks/outline", json_body=doc)
    assert status == 200
    acts = {a["id"]: a for a in body["activities"]}
    assert acts["odd"]["fields"] is None and acts["odd"]["known_type"] is None
    assert set(acts["lines"]["upstream"]) == {"start", "greet", "lines", "done", "odd"} - {"lines"}

    named = {"$schema": "http://x/api/v1/schemas/runbook.json", **document()}
    status, body = await api.request("POST", "/api/v1/runbooks/outline", json_body=named)
    assert status == 200 and [a["id"] for a in body["activities"]] == ["start", "greet", "done"]
    status, body = await api.request("POST", "/api/v1/runbooks/outline",
                                     json_body={"format": "orch.runbook/1"})
    assert status == 422 and body["error"]["path"] == "$"
    status, body = await api.request("POST", "/api/v1/runbooks/outline", body="{nope")
    assert status == 400
