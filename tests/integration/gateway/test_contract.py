"""The error contract over every route of the table, and its OpenAPI description."""

from __future__ import annotations

import re

from orch.gateway.routes import ROUTES
from tests.integration.gateway.conftest import Api

MISSING = "00000000-0000-4000-8000-000000000000"
PUBLIC = {op.operation_id for op, _ in ROUTES if op.public}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "1" if m[1] == "v" else MISSING, path)


async def test_every_private_route_wants_credentials(api: Api) -> None:
    for op in (op for op, _ in ROUTES if not op.public):
        for token in (None, "orch_wrong"):
            status, body = await api.request(op.method, concrete(op.path), token=token)
            assert status == 401, (op.operation_id, body)
            assert body["error"]["code"] == "unauthorized"


async def test_every_body_must_be_json(api: Api) -> None:
    for op in (op for op, _ in ROUTES
               if op.body is not None and op.body_media_type == "application/json"):
        await _json_only(api, op)


async def _json_only(api: Api, op) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = api.auth()
        if content_type is not None:
            headers["Content-Type"] = content_type
        async with api.http.request(op.method, f"{api.url}{concrete(op.path)}", data=b"{}",
                                    headers=headers) as resp:
            body = await resp.json()
            assert resp.status == 415, (content_type, body)
            assert body["error"]["code"] == "unsupported-media-type"
    headers = {**api.auth(), "Content-Type": "application/json; charset=utf-8"}
    async with api.http.request(op.method, f"{api.url}{concrete(op.path)}", data=b"{",
                                headers=headers) as resp:
        assert resp.status != 415  # JSON with a charset is JSON


async def test_oversized_bodies_are_413_on_new_routes(api: Api) -> None:
    from orch.gateway import MAX_BODY_BYTES

    big = '{"path": "/' + "x" * MAX_BODY_BYTES + '"}'
    for method, path in (("POST", "/api/v1/folders"), ("PATCH", f"/api/v1/folders/{MISSING}")):
        status, body = await api.request(method, path, body=big)
        assert status == 413, path
        assert body["error"]["code"] == "body-too-large"


async def test_openapi_describes_every_route_with_its_errors(api: Api) -> None:
    spec = await api.client.openapi()
    for op, _ in ROUTES:
        entry = spec["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.operation_id
        codes = set(entry["responses"])
        assert str(op.status) in codes
        if not op.public:
            assert "401" in codes, op.operation_id
        if op.body is not None:
            assert {"400", "413", "415"} <= codes, op.operation_id
            assert entry["requestBody"]["content"][op.body_media_type]["schema"]
        for name in re.findall(r"\{(\w+)\}", op.path):
            assert any(p["in"] == "path" and p["name"] == name for p in entry["parameters"])
    start = spec["paths"]["/api/v1/jobs"]["post"]
    header = next(p for p in start["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["schema"]["maxLength"] == 255
    rerun = spec["paths"]["/api/v1/jobs/{id}/rerun"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in rerun["parameters"])
    live = spec["paths"]["/api/v1/live"]["get"]
    assert set(live["responses"]) == {"101", "400", "401"}
    schemas = spec["components"]["schemas"]
    assert live["x-websocket"]["send"]["$ref"].endswith("/ClientMessage")
    for name in ("ClientMessage", "Subscribe", "LiveEvent", "EventsFrame", "LaggedFrame",
                 "SubscribedFrame", "Folder", "EventRecord", "Server", "IntegrationPack",
                 "LogPage", "RunbookDiff", "ChildJob"):
        assert name in schemas, name
    assert set(schemas["LiveEvent"]["required"]) >= {
        "seq", "kind", "at", "runbook_id", "job_id", "instance_id", "activity", "run_id",
        "status"}
    # query parameters are text or absent: no null branch
    for path_item in spec["paths"].values():
        for entry in path_item.values():
            for p in entry["parameters"]:
                if p["in"] == "query":
                    assert "null" not in str(p["schema"]), (entry["operationId"], p)


async def test_websocket_route_without_upgrade_is_400(api: Api) -> None:
    status, body = await api.request("GET", "/api/v1/live")
    assert status == 400 and body["error"]["code"] == "websocket-expected"
