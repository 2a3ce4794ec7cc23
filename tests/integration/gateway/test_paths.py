"""Runbook and folder paths over the API: '.', '..' and empty segments are a 422 naming the
segment wherever a path comes in (check-in, import, folders, grants, job starts, filters),
and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateway.conftest import Api, document

BAD = [
    ("/../../etc", "segment 1: '..'"),
    ("/a/./b", "segment 2: '.'"),
    ("/a//b", "empty segment (segment 2"),
]


async def _counts(api: Api) -> tuple[int, int, int]:
    async with api.pool.acquire() as conn:
        return (await conn.fetchval("SELECT count(*) FROM folders"),
                await conn.fetchval("SELECT count(*) FROM runbooks"),
                await conn.fetchval("SELECT count(*) FROM grants"))


def _named(body: Any, path: str, words: str) -> None:
    error = body["error"]
    assert error["path"] == path, body
    assert words in error["message"], body


@pytest.mark.parametrize(("folder", "words"), BAD)
async def test_check_in_and_import_refuse_the_folder(api: Api, folder: str, words: str) -> None:
    before = await _counts(api)
    status, body = await api.request("POST", "/api/v1/runbooks",
                                     json_body=document(folder=folder))
    assert status == 422
    assert body["error"]["code"] == "invalid-document"
    _named(body, "$.folder", words)
    status, body = await api.request("POST", "/api/v1/runbooks/import", json_body={
        "documents": [document(name="Fine", folder="/Fine"), document(folder=folder)]})
    assert status == 422
    assert body["error"]["path"] == "$.documents[1].folder"
    assert [f["path"] for f in body["error"]["faults"]] == ["$.documents[1].folder"]
    assert words in body["error"]["faults"][0]["message"]
    status, body = await api.request("POST", "/api/v1/runbooks",
                                     json_body=document(name=".."))
    assert status == 422
    _named(body, "$.name", "'..'")
    assert await _counts(api) == before


@pytest.mark.parametrize(("path", "words"), BAD)
async def test_folders_refuse_dot_and_empty_segments(api: Api, path: str, words: str) -> None:
    status, made = await api.request("POST", "/api/v1/folders", json_body={"path": "/Mine"})
    assert status == 201, made
    before = await _counts(api)
    status, body = await api.request("POST", "/api/v1/folders", json_body={"path": path})
    assert status == 422 and body["error"]["code"] == "bad-path"
    _named(body, "$.path", words)
    status, body = await api.request("PATCH", f"/api/v1/folders/{made['id']}",
                                     json_body={"parent": path})
    assert status == 422 and body["error"]["code"] == "bad-path"
    _named(body, "$.parent", words)
    status, body = await api.request("GET", "/api/v1/folders", params={"under": path})
    assert status == 422
    _named(body, "$.under", words)
    assert await _counts(api) == before


@pytest.mark.parametrize("name", [".", ".."])
async def test_a_folder_cannot_be_renamed_to_a_dot(api: Api, name: str) -> None:
    status, made = await api.request("POST", "/api/v1/folders", json_body={"path": "/Mine"})
    assert status == 201
    status, body = await api.request("PATCH", f"/api/v1/folders/{made['id']}",
                                     json_body={"name": name})
    assert status == 422 and body["error"]["code"] == "bad-path"
    _named(body, "$.name", f"{name!r}")
    status, again = await api.request("GET", f"/api/v1/folders/{made['id']}")
    assert again["path"] == "/Mine"


@pytest.mark.parametrize(("target", "words"), BAD)
async def test_grant_targets_refuse_dot_and_empty_segments(api: Api, target: str,
                                                           words: str) -> None:
    before = await _counts(api)
    status, body = await api.request("POST", "/api/v1/grants", json_body={
        "principal": "user:admin", "target": target, "rights": ["view"]})
    assert status == 422 and body["error"]["code"] == "bad-path"
    _named(body, "$.target", words)
    status, body = await api.request("GET", "/api/v1/grants", params={"target": target})
    assert status == 422
    _named(body, "$.target", words)
    assert await _counts(api) == before


async def test_runbook_references_and_filters_refuse_dot_segments(api: Api) -> None:
    status, _ = await api.request("POST", "/api/v1/runbooks", json_body=document())
    assert status == 201
    for ref, words in (("/Examples/../Examples/Hello", "segment 2: '..'"),
                       ("/Examples//Hello", "empty segment")):
        status, body = await api.request("POST", "/api/v1/jobs",
                                         json_body={"runbook": ref, "parameters": {}})
        assert status == 422 and body["error"]["code"] == "bad-path", body
        _named(body, "$.runbook", words)
        status, body = await api.request("GET", "/api/v1/jobs", params={"runbook": ref})
        assert status == 422, body
    status, body = await api.request("GET", "/api/v1/runbooks", params={"folder": "/a/../b"})
    assert status == 422, body
    async with api.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0


async def test_one_trailing_slash_is_dropped_everywhere(api: Api) -> None:
    status, made = await api.request("POST", "/api/v1/folders", json_body={"path": "/Trail/"})
    assert status == 201 and made["path"] == "/Trail"
    status, grant = await api.request("POST", "/api/v1/grants", json_body={
        "principal": "user:admin", "target": "/Trail/", "rights": ["view"]})
    assert status == 201 and grant["target"] == "/Trail"
    status, body = await api.request("GET", "/api/v1/folders", params={"under": "/Trail/"})
    assert status == 200 and [f["path"] for f in body["items"]] == ["/Trail"]
