"""The gateway accepts activity types registered in the database but not installed on it."""

from __future__ import annotations

import uuid

from orch.db.packs import pack_records, register_pack
from orch.sdk import Registry
from tests.integration.gateway.conftest import Api
from tests.integration.helpers import eventually, runbook_doc, start
from tests.integration.packs.helpers import core_registry, server
from tests.integration.packs.test_capability import ping


def _doc(**props: object) -> dict[str, object]:
    return runbook_doc("Remote", [
        start(),
        {"id": "p", "type": "remote:ping", "properties": props},
        {"id": "c", "type": "compare_values",
         "properties": {"value": "{p.Echo}", "op": "equals", "to": "hi"}},
    ])  # fmt: skip


async def test_check_in_and_start_with_a_type_only_servers_have(api: Api) -> None:
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=_doc(text="hi"))
    assert status == 422 and body["error"]["faults"][0]["code"] == "unknown-type", body

    remote = Registry()
    remote.add_pack("remote", [ping])
    remote.versions["remote"] = ("orch-remote", "2.0.0")
    async with api.pool.acquire() as conn:
        for record in pack_records(remote, ["remote"]):
            await register_pack(conn, record, registered_by="test")

    status, body = await api.request("POST", "/api/v1/runbooks", json_body=_doc(text=5))
    assert status == 201, body  # 5 is text "5" as for any property
    runbook_id = body["id"]
    bad = _doc(text="hi", volume=11)
    bad["name"] = "Bad"
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=bad)
    assert status == 422, body
    assert body["error"]["faults"][0]["path"] == "$.activities[1].properties.volume"
    wrong_field = _doc(text="hi")
    wrong_field["name"] = "WrongField"
    wrong_field["activities"][2]["properties"]["value"] = "{p.Nope}"  # type: ignore[index]
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=wrong_field)
    assert status == 422 and body["error"]["faults"][0]["code"] == "unknown-field", body

    async with api.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT activity_types FROM runbook_versions WHERE runbook_id = $1",
            uuid.UUID(runbook_id))
    assert stored == ["core:compare_values", "core:initialize_data", "remote:ping"]

    async with server(api.pool, "core-only", core_registry()):
        status, job = await api.request("POST", "/api/v1/jobs",
                                        json_body={"runbook": "/Tests/Remote"})  # fmt: skip
        assert status == 201, job

        async def reason() -> str | None:
            _, body = await api.request("GET", f"/api/v1/jobs/{job['id']}")
            return body["waiting_reason"]

        assert await eventually(reason) == (
            "no available runbook server has pack remote (activity types remote:ping)")

    # the registry the gateway lists is still what it has installed
    status, body = await api.request("GET", "/api/v1/integration-packs")
    if status == 200:
        remote_items = [p for p in body["items"] if p["name"] == "remote"]
        assert all(not p["installed_on_gateway"] for p in remote_items)
