"""Grants on folders are inherited downward; groups pass theirs to members; revoking ends them."""

from __future__ import annotations

from tests.integration.gateway.conftest import Api, document


async def _grant(api: Api, principal: str, target: str, rights: list[str]) -> str:
    status, body = await api.request("POST", "/api/v1/grants", json_body={
        "principal": principal, "target": target, "rights": rights})
    assert status == 201, body
    return body["id"]


async def test_folder_grant_is_inherited_downward_only(api: Api) -> None:
    deep = await api.client.check_in(document(name="Deep", folder="/Ops/Sub/Deeper"))
    sibling = await api.client.check_in(document(name="Other", folder="/Opsx"))
    top = await api.client.check_in(document(name="Top", folder="/"))
    operator = await api.make_user("operator")
    grant = await _grant(api, "user:operator", "/Ops", ["view", "start"])
    status, body = await api.request("GET", "/api/v1/runbooks", token=operator)
    assert [r["path"] for r in body["items"]] == [deep.path]
    assert (await api.request("GET", f"/api/v1/runbooks/{deep.id}", token=operator))[0] == 200
    for hidden in (sibling, top):  # /Opsx is not below /Ops; / is above it
        status, _ = await api.request("GET", f"/api/v1/runbooks/{hidden.id}", token=operator)
        assert status == 404
    status, job = await api.request("POST", "/api/v1/jobs", token=operator, json_body={
        "runbook": deep.path, "parameters": {"Name": "x"}})
    assert status == 201 and job["created_by"] == "operator"
    status, _ = await api.request("POST", f"/api/v1/jobs/{job['id']}/stop", token=operator)
    assert status == 403  # visible, but no stop right
    status, body = await api.request("GET", "/api/v1/folders", token=operator)
    assert [f["path"] for f in body["items"]] == ["/", "/Ops", "/Ops/Sub", "/Ops/Sub/Deeper"]
    assert body["items"][0]["runbook_count"] == 0  # the root's own runbook is not counted
    # revoking only start keeps view; revoking the rest removes the grant
    status, _ = await api.request("DELETE", f"/api/v1/grants/{grant}", params={"rights": "start"})
    assert status == 204
    status, _ = await api.request("POST", "/api/v1/jobs", token=operator, json_body={
        "runbook": deep.path, "parameters": {"Name": "x"}})
    assert status == 403
    status, _ = await api.request("DELETE", f"/api/v1/grants/{grant}")
    assert status == 204
    status, _ = await api.request("GET", f"/api/v1/runbooks/{deep.id}", token=operator)
    assert status == 404


async def test_group_grants_reach_members(api: Api) -> None:
    rb = await api.client.check_in(document(name="R", folder="/Team"))
    operator = await api.make_user("member")
    assert (await api.request("POST", "/api/v1/groups", json_body={"name": "team"}))[0] == 201
    await _grant(api, "group:team", "/Team", ["view"])
    assert (await api.request("GET", f"/api/v1/runbooks/{rb.id}", token=operator))[0] == 404
    status, group = await api.request("PUT", "/api/v1/groups/team/members/member")
    assert status == 200 and group["members"] == ["member"]
    assert (await api.request("GET", f"/api/v1/runbooks/{rb.id}", token=operator))[0] == 200
    status, me = await api.request("GET", "/api/v1/me", token=operator)
    assert me["groups"] == ["team"] and me["grants"] == [{"target": "/Team", "rights": ["view"]}]
    await api.request("DELETE", "/api/v1/groups/team/members/member")
    assert (await api.request("GET", f"/api/v1/runbooks/{rb.id}", token=operator))[0] == 404


async def test_tokens_created_listed_revoked_and_audited(api: Api) -> None:
    status, user = await api.request("POST", "/api/v1/users", json_body={
        "name": "alice", "password": "correct horse battery"})
    assert status == 201 and user["has_password"] and user["groups"] == []
    status, token = await api.request("POST", "/api/v1/users/alice/tokens", json_body={
        "name": "ci", "expires_at": "2999-01-01T00:00:00Z"})
    assert status == 201 and token["token"].startswith("orch_")
    secret = token["token"]
    async with api.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT token_hash FROM tokens WHERE id = $1::uuid",
                                     token["id"])
    assert stored != secret and secret not in stored
    status, own = await api.request("POST", "/api/v1/tokens", token=secret,
                                    json_body={"name": "laptop"})
    assert status == 201 and own["user"] == "alice"
    status, listed = await api.request("GET", "/api/v1/tokens", token=secret)
    assert {t["name"] for t in listed["items"]} == {"ci", "laptop"}
    assert all("token" not in t for t in listed["items"])
    status, _ = await api.request("GET", "/api/v1/tokens", token=secret,
                                  params={"user": "admin"})
    assert status == 403
    status, _ = await api.request("DELETE", f"/api/v1/tokens/{own['id']}", token=secret)
    assert status == 204
    assert (await api.request("GET", "/api/v1/me", token=own["token"]))[0] == 401
    status, _ = await api.request("PATCH", "/api/v1/users/alice", json_body={"disabled": True})
    assert status == 200
    assert (await api.request("GET", "/api/v1/me", token=secret))[0] == 401
    async with api.pool.acquire() as conn:
        rows = await conn.fetch("SELECT actor, action, target, data FROM audit ORDER BY id")
    actions = [(r["actor"], r["action"]) for r in rows]
    for expected in [("admin", "user created"), ("admin", "token created"),
                     ("alice", "token created"), ("alice", "token revoked"),
                     ("admin", "user disabled")]:
        assert expected in actions
    assert all(r["data"]["remote"] == "127.0.0.1" for r in rows if r["actor"] == "alice")
