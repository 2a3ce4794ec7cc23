"""Folder routes: the tree, create, rename, move (everything below follows), delete when empty."""

from __future__ import annotations

from tests.integration.gateway.conftest import Api, document

MISSING = "00000000-0000-4000-8000-000000000000"


async def folder_id(api: Api, path: str) -> str:
    status, body = await api.request("GET", "/api/v1/folders", params={"under": path})
    assert status == 200
    return next(f["id"] for f in body["items"] if f["path"] == path)


async def test_tree_lists_folders_by_path_with_counts_and_pages(api: Api) -> None:
    await api.client.check_in(document(name="A", folder="/Ops/Services"))
    await api.client.check_in(document(name="B", folder="/Ops"))
    status, body = await api.request("GET", "/api/v1/folders")
    assert status == 200
    by_path = {f["path"]: f for f in body["items"]}
    assert list(by_path) == ["/", "/Ops", "/Ops/Services"]
    assert by_path["/"]["parent"] is None and by_path["/"]["name"] == ""
    assert by_path["/Ops"]["parent"] == "/" and by_path["/Ops"]["folder_count"] == 1
    assert by_path["/Ops"]["runbook_count"] == 1
    assert by_path["/Ops/Services"]["runbook_count"] == 1 and body["next"] is None

    status, first = await api.request("GET", "/api/v1/folders", params={"limit": "2"})
    assert [f["path"] for f in first["items"]] == ["/", "/Ops"] and first["next"]
    status, rest = await api.request("GET", "/api/v1/folders",
                                     params={"limit": "2", "cursor": first["next"]})
    assert [f["path"] for f in rest["items"]] == ["/Ops/Services"] and rest["next"] is None

    status, under = await api.request("GET", "/api/v1/folders", params={"under": "Ops/"})
    assert [f["path"] for f in under["items"]] == ["/Ops", "/Ops/Services"]
    status, one = await api.request("GET", f"/api/v1/folders/{by_path['/Ops']['id']}")
    assert status == 200 and one == by_path["/Ops"]


async def test_create_makes_parents_and_refuses_a_taken_path(api: Api) -> None:
    status, body = await api.request("POST", "/api/v1/folders", json_body={"path": "/A/B/C"})
    assert status == 201 and body["path"] == "/A/B/C" and body["parent"] == "/A/B"
    status, listed = await api.request("GET", "/api/v1/folders")
    assert [f["path"] for f in listed["items"]] == ["/", "/A", "/A/B", "/A/B/C"]
    for path in ("/A/B/C", "/A/B/C/", "/"):
        status, body = await api.request("POST", "/api/v1/folders", json_body={"path": path})
        assert status == 409, path
        assert body["error"]["path"] == "$.path"


async def test_create_validates_the_body(api: Api) -> None:
    cases = [
        ({"path": "no-slash"}, "$.path"),
        ({"path": ""}, "$.path"),
        ({"path": "/A/ B"}, "$.path"),
        ({"path": "/A/\u0007"}, "$.path"),
        ({}, "$"),
        ({"path": "/A", "extra": 1}, "$.extra"),
    ]
    for body, path in cases:
        status, answer = await api.request("POST", "/api/v1/folders", json_body=body)
        assert status == 422, body
        assert answer["error"]["path"] == path, body


async def test_rename_moves_every_path_below_including_runbooks(api: Api) -> None:
    rb = await api.client.check_in(document(name="Deep", folder="/Ops/Services/Web"))
    top = await api.client.check_in(document(name="Top", folder="/Ops"))
    ops = await folder_id(api, "/Ops")
    status, body = await api.request("PATCH", f"/api/v1/folders/{ops}",
                                     json_body={"name": "Operations"})
    assert status == 200 and body["path"] == "/Operations" and body["name"] == "Operations"
    status, listed = await api.request("GET", "/api/v1/folders")
    assert [f["path"] for f in listed["items"]] == [
        "/", "/Operations", "/Operations/Services", "/Operations/Services/Web"]
    assert (await api.client.get_runbook(rb.id)).path == "/Operations/Services/Web/Deep"
    assert (await api.client.get_runbook(top.id)).path == "/Operations/Top"
    # the runbook still resolves by its new path, and a new check-in lands beside it
    job = await api.client.start_job("/Operations/Top", {"Name": "x"})
    assert job.runbook_path == "/Operations/Top"
    again = await api.client.check_in(document(name="New", folder="/Operations/Services"))
    assert again.path == "/Operations/Services/New"


async def test_move_into_another_folder(api: Api) -> None:
    rb = await api.client.check_in(document(name="R", folder="/A/B"))
    await api.request("POST", "/api/v1/folders", json_body={"path": "/X"})
    b = await folder_id(api, "/A/B")
    status, body = await api.request("PATCH", f"/api/v1/folders/{b}",
                                     json_body={"parent": "/X", "name": "Moved"})
    assert status == 200 and body["path"] == "/X/Moved" and body["parent"] == "/X"
    assert (await api.client.get_runbook(rb.id)).path == "/X/Moved/R"
    status, body = await api.request("PATCH", f"/api/v1/folders/{b}", json_body={"parent": "/"})
    assert status == 200 and body["path"] == "/Moved"
    status, same = await api.request("PATCH", f"/api/v1/folders/{b}", json_body={})
    assert status == 200 and same["path"] == "/Moved"


async def test_rename_and_move_failures(api: Api) -> None:
    await api.request("POST", "/api/v1/folders", json_body={"path": "/A/B"})
    await api.request("POST", "/api/v1/folders", json_body={"path": "/C"})
    a, root = await folder_id(api, "/A"), await folder_id(api, "/")
    cases = [
        (a, {"name": "C"}, 409, "$.name"),
        (a, {"parent": "/A/B"}, 422, "$.parent"),
        (a, {"parent": "/A"}, 422, "$.parent"),
        (a, {"parent": "/Nowhere"}, 422, "$.parent"),
        (a, {"name": "x/y"}, 422, "$.name"),
        (a, {"name": ""}, 422, "$.name"),
        (root, {"name": "Root"}, 422, "$"),
        (MISSING, {"name": "Z"}, 404, None),
    ]
    for fid, body, expected, path in cases:
        status, answer = await api.request("PATCH", f"/api/v1/folders/{fid}", json_body=body)
        assert status == expected, (body, answer)
        assert answer["error"]["path"] == path, body
    status, _ = await api.request("PATCH", "/api/v1/folders/nope", json_body={"name": "Z"})
    assert status == 404


async def test_delete_only_when_empty(api: Api) -> None:
    await api.client.check_in(document(name="R", folder="/Full"))
    await api.request("POST", "/api/v1/folders", json_body={"path": "/Parent/Child"})
    full, parent = await folder_id(api, "/Full"), await folder_id(api, "/Parent")
    child, root = await folder_id(api, "/Parent/Child"), await folder_id(api, "/")
    for fid in (full, parent, root):
        status, _body = await api.request("DELETE", f"/api/v1/folders/{fid}")
        assert status == 409, fid
    async with api.http.delete(f"{api.url}/api/v1/folders/{child}", headers=api.auth()) as resp:
        assert resp.status == 204 and await resp.read() == b""
    async with api.http.delete(f"{api.url}/api/v1/folders/{parent}", headers=api.auth()) as resp:
        assert resp.status == 204
    status, _ = await api.request("DELETE", f"/api/v1/folders/{parent}")
    assert status == 404
    status, listed = await api.request("GET", "/api/v1/folders")
    assert [f["path"] for f in listed["items"]] == ["/", "/Full"]


async def test_a_stale_path_is_refused_by_the_database(api: Api) -> None:
    """A check-in that computed its path before a move cannot land at the old path."""
    await api.request("POST", "/api/v1/folders", json_body={"path": "/Old"})
    async with api.pool.acquire() as conn:
        old = await conn.fetchval("SELECT id FROM folders WHERE path = '/Old'")
        await conn.execute("UPDATE folders SET path = '/New', name = 'New' WHERE id = $1", old)
        import asyncpg
        import pytest

        with pytest.raises(asyncpg.SerializationError):
            await conn.execute(
                "INSERT INTO folders (id, path, parent_id, name) "
                "VALUES (gen_random_uuid(), '/Old/Sub', $1, 'Sub')", old)
        with pytest.raises(asyncpg.SerializationError):
            await conn.execute(
                "INSERT INTO runbooks (id, folder_id, name, path, current_version) "
                "VALUES (gen_random_uuid(), $1, 'R', '/Old/R', 1)", old)
