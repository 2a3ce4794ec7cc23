"""Authentication (bearer token by sha256) and the admins-only authorization of this slice."""

from __future__ import annotations

import pytest

from tests.integration.gateway.conftest import Api, document

ROUTES = [
    ("GET", "/api/v1/runbooks"),
    ("POST", "/api/v1/runbooks"),
    ("GET", "/api/v1/runbooks/00000000-0000-4000-8000-000000000000"),
    ("PUT", "/api/v1/runbooks/00000000-0000-4000-8000-000000000000"),
    ("GET", "/api/v1/runbooks/00000000-0000-4000-8000-000000000000/versions/1"),
    ("POST", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/00000000-0000-4000-8000-000000000000"),
    ("POST", "/api/v1/jobs/00000000-0000-4000-8000-000000000000/stop"),
    ("GET", "/api/v1/instances/00000000-0000-4000-8000-000000000000"),
    ("GET", "/api/v1/no-such-route"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_or_bad_token_is_401(api: Api, method: str, path: str) -> None:
    expired = await api.make_user("old", admin=True, expires_in="-1 hour")
    revoked = await api.make_user("gone", admin=True, revoked=True)
    disabled = await api.make_user("off", admin=True, disabled=True)
    for token in (None, "orch_wrong", expired, revoked, disabled):
        status, body = await api.request(method, path, token=token, json_body={})
        assert status == 401, (token, body)
        assert body["error"]["code"] == "unauthorized"


async def test_malformed_authorization_header_is_401(api: Api) -> None:
    for header in ("Basic YWRtaW46eA==", "Bearer", "Bearer   ", "orch_test-admin-token"):
        async with api.http.get(
            f"{api.url}/api/v1/runbooks", headers={"Authorization": header}
        ) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_valid_tokens_pass(api: Api) -> None:
    later = await api.make_user("later", admin=True, expires_in="1 hour")
    status, _ = await api.request("GET", "/api/v1/runbooks", token=later)
    assert status == 200


async def test_operator_without_grants_sees_nothing(api: Api) -> None:
    created = await api.client.check_in(document())
    operator = await api.make_user("operator")
    status, answer = await api.request("GET", "/api/v1/runbooks", token=operator)
    assert status == 200 and answer["items"] == []
    for method, path, body in [
        ("GET", f"/api/v1/runbooks/{created.id}", None),
        ("POST", "/api/v1/runbooks", document(name="Other")),
        ("POST", "/api/v1/jobs", {"runbook": created.path, "parameters": {"Name": "x"}}),
    ]:
        status, answer = await api.request(method, path, token=operator, json_body=body)
        assert status == 404, (method, path)
        assert answer["error"]["code"] == "not-found"


async def test_public_routes(api: Api) -> None:
    status, body = await api.request("GET", "/health", token=None)
    assert status == 200 and body["status"] == "ok" and body["database"] == "ok"
    status, body = await api.request("GET", "/api/v1/openapi.json", token=None)
    assert status == 200 and body["openapi"].startswith("3.")
    status, body = await api.request("GET", "/not-an-api-path", token=None)
    assert status == 404 and body["error"]["code"] == "not-found"
