"""Runbook routes: check-in, new versions, reads, lists — and every failure path."""

from __future__ import annotations

import json

from tests.integration.gateway.conftest import Api, document


async def test_check_in_creates_runbook_version_and_folders(api: Api) -> None:
    status, body = await api.request(
        "POST", "/api/v1/runbooks", json_body=document(folder="/Ops/Deep/Er"),
        params={"comment": "first"},
    )
    assert status == 201
    assert body["version"] == 1 and body["path"] == "/Ops/Deep/Er/Hello"
    assert len(body["hash"]) == 64
    folders = {r["path"] async for r in _rows(api, "SELECT path FROM folders")}
    assert {"/", "/Ops", "/Ops/Deep", "/Ops/Deep/Er"} <= folders

    detail = await api.client.get_runbook(body["id"])
    assert detail.path == "/Ops/Deep/Er/Hello" and detail.folder == "/Ops/Deep/Er"
    assert detail.current_version == 1 and detail.checked_out_by is None
    assert [v.version for v in detail.versions] == [1]
    assert detail.versions[0].comment == "first" and detail.versions[0].created_by == "admin"
    assert detail.document["name"] == "Hello"

    version = await api.client.get_runbook_version(body["id"], 1)
    assert version.hash == body["hash"] and version.document == detail.document


async def test_new_version_and_rename(api: Api) -> None:
    created = await api.client.check_in(document())
    doc = document(description="changed")
    updated = await api.client.check_in_version(created.id, doc, comment="second")
    assert updated.version == 2 and updated.id == created.id and updated.hash != created.hash
    moved = await api.client.check_in_version(created.id, document(name="Hi", folder="/Other"))
    assert moved.version == 3 and moved.path == "/Other/Hi"
    detail = await api.client.get_runbook(created.id)
    assert [v.version for v in detail.versions] == [1, 2, 3]
    assert detail.current_version == 3 and detail.path == "/Other/Hi"
    old = await api.client.get_runbook_version(created.id, 1)
    assert old.document["name"] == "Hello"


async def test_taken_path_is_409(api: Api) -> None:
    await api.client.check_in(document())
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=document())
    assert status == 409
    assert body["error"]["code"] == "conflict" and "/Examples/Hello" in body["error"]["message"]

    other = await api.client.check_in(document(name="Other"))
    status, body = await api.request(
        "PUT", f"/api/v1/runbooks/{other.id}", json_body=document()
    )
    assert status == 409


async def test_checked_out_by_someone_else_is_409(api: Api) -> None:
    created = await api.client.check_in(document())
    await api.make_user("bob")
    async with api.pool.acquire() as conn:
        await conn.execute(
            "UPDATE runbooks SET checked_out_by = (SELECT id FROM users WHERE name = 'bob'),"
            " checked_out_at = now() WHERE id = $1::uuid",
            created.id,
        )
    status, body = await api.request(
        "PUT", f"/api/v1/runbooks/{created.id}", json_body=document(description="x")
    )
    assert status == 409 and "checked out by bob" in body["error"]["message"]
    listed = await api.client.list_runbooks()
    assert listed.items[0].checked_out_by == "bob"


async def test_malformed_json_is_400(api: Api) -> None:
    for body in ('{"format": ', "not json", "{'a': 1}"):
        status, answer = await api.request("POST", "/api/v1/runbooks", body=body)
        assert status == 400, body
        assert answer["error"]["code"] == "malformed-json"
        assert answer["error"]["path"] is None
    status, answer = await api.request("POST", "/api/v1/runbooks", body="")
    assert status == 400 and answer["error"]["code"] == "empty-body"


async def test_invalid_document_is_422_with_every_fault(api: Api) -> None:
    doc = document()
    doc["activities"][1]["type"] = "no_such_activity"
    doc["links"].append({"from": "done", "to": "nowhere"})
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=doc)
    assert status == 422
    error = body["error"]
    assert error["code"] == "invalid-document"
    paths = [f["path"] for f in error["faults"]]
    assert error["path"] == paths[0]
    assert "$.activities[1].type" in paths
    assert any(p.startswith("$.links[2]") for p in paths)
    assert all(f["message"] and f["code"] for f in error["faults"])


async def test_wrongly_typed_document_is_422_with_path(api: Api) -> None:
    doc = document()
    doc["activities"][0]["id"] = 7
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=doc)
    assert status == 422 and body["error"]["path"] == "$.activities[0].id"
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=[1, 2])
    assert status == 422 and body["error"]["path"] == "$"
    doc = document()
    doc["surprise"] = True
    status, body = await api.request("POST", "/api/v1/runbooks", json_body=doc)
    assert status == 422 and body["error"]["path"] == "$.surprise"


async def test_unknown_ids_are_404(api: Api) -> None:
    created = await api.client.check_in(document())
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (
        f"/api/v1/runbooks/{missing}",
        "/api/v1/runbooks/not-a-uuid",
        f"/api/v1/runbooks/{created.id}/versions/2",
        f"/api/v1/runbooks/{created.id}/versions/abc",
        f"/api/v1/runbooks/{created.id}/versions/99999999999999",
        "/api/v1/nothing-here",
    ):
        status, body = await api.request("GET", path)
        assert status == 404, path
        assert body["error"]["code"] == "not-found"
    status, _ = await api.request("PUT", f"/api/v1/runbooks/{missing}", json_body=document())
    assert status == 404
    status, body = await api.request("DELETE", "/api/v1/runbooks")
    assert status == 405 and body["error"]["code"] == "method-not-allowed"


async def test_list_pages_and_folder_filter(api: Api) -> None:
    for name, folder in [("A", "/X"), ("B", "/X/Y"), ("C", "/Z"), ("D", "/X")]:
        await api.client.check_in(document(name=name, folder=folder))
    first = await api.client.list_runbooks(limit=3)
    assert [r.path for r in first.items] == ["/X/A", "/X/D", "/X/Y/B"]
    assert first.next is not None
    second = await api.client.list_runbooks(cursor=first.next, limit=3)
    assert [r.path for r in second.items] == ["/Z/C"] and second.next is None
    in_x = await api.client.list_runbooks("/X")
    assert [r.path for r in in_x.items] == ["/X/A", "/X/D", "/X/Y/B"]
    assert [r.path async for r in api.client.iter_runbooks("/X/Y")] == ["/X/Y/B"]

    status, body = await api.request("GET", "/api/v1/runbooks", params={"limit": "0"})
    assert status == 422 and body["error"]["path"] == "$.limit"
    status, body = await api.request("GET", "/api/v1/runbooks", params={"cursor": "%%%"})
    assert status == 422 and body["error"]["path"] == "$.cursor"
    status, body = await api.request("GET", "/api/v1/runbooks", params={"bogus": "1"})
    assert status == 422 and body["error"]["path"] == "$.bogus"


async def test_responses_keep_null_fields(api: Api) -> None:
    created = await api.client.check_in(document())
    status, body = await api.request("GET", f"/api/v1/runbooks/{created.id}")
    assert status == 200
    assert "checked_out_by" in body and body["checked_out_by"] is None
    assert body["checked_out_at"] is None
    assert json.dumps(body)  # plain JSON


async def _rows(api: Api, sql: str):
    async with api.pool.acquire() as conn:
        for r in await conn.fetch(sql):
            yield r


async def test_oversized_body_is_413(api: Api) -> None:
    from orch.gateway import MAX_BODY_BYTES

    body = '{"format": "' + "x" * MAX_BODY_BYTES + '"}'
    status, answer = await api.request("POST", "/api/v1/runbooks", body=body)
    assert status == 413 and answer["error"]["code"] == "body-too-large"
