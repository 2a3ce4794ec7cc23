"""Signing in through a real OpenID provider: groups become rights, admin groups admins.

The provider (tests/oidc_provider/users.json): alice is in ``ops`` and ``everyone``, bob
in ``platform-admins`` (ORCH_OIDC_ADMIN_GROUPS here) and ``everyone``, carol in none.
"""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.integration.gateway.conftest import document
from tests.integration.oidc.conftest import Gateway
from tests.integration.oidc.provider import USERS, Provider, log_in_at_provider, start


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, object]:
    async with http.get(url) as resp:
        return resp.status, await resp.json(content_type=None)


async def _check_in(gw: Gateway, name: str, folder: str) -> str:
    status, body = await gw.admin_call("POST", "/api/v1/runbooks",
                                       document(name=name, folder=folder))
    assert status == 201, body
    return body["path"]


async def test_groups_become_principals_and_grants_give_exactly_their_rights(
        gateway: Gateway) -> None:
    ops_path = await _check_in(gateway, "Restart web", "/Ops")
    await _check_in(gateway, "Rotate keys", "/Security")
    alice = await gateway.sign_in("alice")

    status, me = await _get(alice, f"{gateway.url}/api/v1/me")
    assert status == 200, me
    assert me["name"] == "alice"
    assert sorted(me["groups"]) == ["everyone", "ops"]
    assert me["is_admin"] is False
    assert me["auth"] == "session" and me["csrf_token"]
    assert me["grants"] == []
    status, listed = await _get(alice, f"{gateway.url}/api/v1/runbooks")
    assert status == 200 and listed["items"] == []

    # the provider's group is the principal group:ops: a grant covers its members
    status, grant = await gateway.admin_call("POST", "/api/v1/grants", {
        "principal": "group:ops", "target": "/Ops", "rights": ["view", "start"]})
    assert status == 201, grant

    status, me = await _get(alice, f"{gateway.url}/api/v1/me")
    assert me["grants"] == [{"target": "/Ops", "rights": ["start", "view"]}] or \
        me["grants"] == [{"target": "/Ops", "rights": ["view", "start"]}]
    status, listed = await _get(alice, f"{gateway.url}/api/v1/runbooks")
    assert [r["path"] for r in listed["items"]] == [ops_path]

    csrf = me["csrf_token"]
    async with alice.post(f"{gateway.url}/api/v1/jobs",
                          json={"runbook": ops_path, "parameters": {"Name": "ops"}},
                          headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 201, await resp.text()
    async with alice.post(f"{gateway.url}/api/v1/jobs",
                          json={"runbook": "/Security/Rotate keys",
                                "parameters": {"Name": "ops"}},
                          headers={"X-CSRF-Token": csrf}) as resp:
        assert resp.status == 404, await resp.text()  # not visible: not found


async def test_admin_group_makes_an_orch_admin_and_the_sign_in_is_audited(
        gateway: Gateway) -> None:
    await _check_in(gateway, "Rotate keys", "/Security")
    bob = await gateway.sign_in("bob")
    status, me = await _get(bob, f"{gateway.url}/api/v1/me")
    assert status == 200
    assert me["is_admin"] is True
    assert "admins" in me["groups"] and "platform-admins" in me["groups"]
    status, listed = await _get(bob, f"{gateway.url}/api/v1/runbooks")
    assert [r["path"] for r in listed["items"]] == ["/Security/Rotate keys"]

    row = await gateway.pool.fetchrow(
        "SELECT actor, action, target, data FROM audit WHERE actor = 'bob' "
        "AND action = 'login'")
    assert row is not None
    data = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
    assert data["directory"] == "oidc"
    assert data["admin"] is True
    assert sorted(data["groups"]) == ["everyone", "platform-admins"]
    ident = await gateway.pool.fetchrow(
        "SELECT e.source, e.subject FROM external_identities e JOIN users u "
        "ON u.id = e.user_id WHERE u.name = 'bob'")
    assert (ident["source"], ident["subject"]) == ("oidc", USERS["bob"]["sub"])


async def test_a_user_without_groups_signs_in_and_sees_nothing(gateway: Gateway) -> None:
    await _check_in(gateway, "Restart web", "/Ops")
    carol = await gateway.sign_in("carol")
    status, me = await _get(carol, f"{gateway.url}/api/v1/me")
    assert status == 200 and me["groups"] == [] and me["is_admin"] is False
    status, listed = await _get(carol, f"{gateway.url}/api/v1/runbooks")
    assert listed["items"] == []


async def test_signing_in_again_links_the_same_user_and_follows_group_changes(
        gateway: Gateway) -> None:
    first = await gateway.sign_in("alice")
    status, me1 = await _get(first, f"{gateway.url}/api/v1/me")
    # the provider's answer is the truth at each sign-in: a membership given by hand to
    # a provider group is replaced, one of a local group stays
    await gateway.pool.execute(
        "INSERT INTO groups (id, name) VALUES (gen_random_uuid(), 'local-helpers')")
    await gateway.pool.execute(
        "INSERT INTO group_members (group_id, user_id) SELECT g.id, u.id FROM groups g, "
        "users u WHERE g.name = 'local-helpers' AND u.name = 'alice'")
    second = await gateway.sign_in("alice")
    status, me2 = await _get(second, f"{gateway.url}/api/v1/me")
    assert status == 200
    assert me2["user_id"] == me1["user_id"]
    assert sorted(me2["groups"]) == ["everyone", "local-helpers", "ops"]
    count = await gateway.pool.fetchval("SELECT count(*) FROM users WHERE name = 'alice'")
    assert count == 1


async def test_a_group_removed_at_the_provider_is_gone_at_the_next_sign_in(
        gateway: Gateway, provider: Provider) -> None:
    await _check_in(gateway, "Restart web", "/Ops")
    await gateway.sign_in("alice")
    status, grant = await gateway.admin_call("POST", "/api/v1/grants", {
        "principal": "group:ops", "target": "/Ops", "rights": ["view"]})
    assert status == 201, grant
    provider.set_groups("alice", ["everyone", "night-shift"])
    try:
        again = await gateway.sign_in("alice")
        status, me = await _get(again, f"{gateway.url}/api/v1/me")
        assert status == 200
        assert sorted(me["groups"]) == ["everyone", "night-shift"]
        assert me["grants"] == []
        status, listed = await _get(again, f"{gateway.url}/api/v1/runbooks")
        assert listed["items"] == []
        row = await gateway.pool.fetchrow(
            "SELECT data FROM audit WHERE actor = 'alice' AND action = 'login' "
            "ORDER BY at DESC LIMIT 1")
        data = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
        assert (data["added"], data["removed"]) == (["night-shift"], ["ops"])
    finally:
        provider.set_groups("alice", USERS["alice"]["groups"])


async def test_next_page_is_kept_and_only_a_path_of_this_console(gateway: Gateway) -> None:
    http = gateway.browser()
    await gateway.sign_in("alice", http, next_path="/jobs?status=running")
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example",
                    "javascript:alert(1)"):
        http = gateway.browser()
        authorize = await start(http, gateway.url, hostile)
        callback = await log_in_at_provider(http, authorize, "alice")
        async with http.get(callback, allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/", hostile


async def test_the_session_is_the_console_session_and_logs_out(gateway: Gateway) -> None:
    alice = await gateway.sign_in("alice")
    cookies = {c.key: c for c in alice.cookie_jar}
    session = cookies["orch_session"]
    assert session["httponly"] and session["samesite"] == "Strict" and session["path"] == "/"
    assert "orch_oidc" not in cookies or not cookies["orch_oidc"].value  # attempt used up
    status, me = await _get(alice, f"{gateway.url}/api/v1/me")
    async with alice.delete(f"{gateway.url}/api/v1/session",
                            headers={"X-CSRF-Token": me["csrf_token"]}) as resp:
        assert resp.status == 204
    status, _ = await _get(alice, f"{gateway.url}/api/v1/me")
    assert status == 401


async def test_methods_name_the_provider(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await _get(http, f"{gateway.url}/api/v1/session/methods")
    assert status == 200
    assert body == {"password": True, "oidc": {
        "label": "127.0.0.1", "issuer": gateway.settings.oidc_issuer,
        "start": "/api/v1/session/oidc/start"}}


@pytest.mark.oidc_settings(oidc_label="Example SSO")
async def test_the_label_is_configurable(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await _get(http, f"{gateway.url}/api/v1/session/methods")
    assert status == 200 and body["oidc"]["label"] == "Example SSO"


async def test_a_token_made_by_a_signed_in_user_acts_with_its_groups_until_disabled(
        gateway: Gateway) -> None:
    await _check_in(gateway, "Restart web", "/Ops")
    alice = await gateway.sign_in("alice")
    status, grant = await gateway.admin_call("POST", "/api/v1/grants", {
        "principal": "group:ops", "target": "/Ops", "rights": ["view"]})
    assert status == 201, grant
    status, me = await _get(alice, f"{gateway.url}/api/v1/me")
    async with alice.post(f"{gateway.url}/api/v1/tokens", json={"name": "script"},
                          headers={"X-CSRF-Token": me["csrf_token"]}) as resp:
        assert resp.status == 201, await resp.text()
        token = (await resp.json())["token"]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as script:
        status, me = await _get(script, f"{gateway.url}/api/v1/me")
        assert status == 200 and me["auth"] == "token"
        assert sorted(me["groups"]) == ["everyone", "ops"]
        status, listed = await _get(script, f"{gateway.url}/api/v1/runbooks")
        assert [r["name"] for r in listed["items"]] == ["Restart web"]

        status, body = await gateway.admin_call("PATCH", "/api/v1/users/alice",
                                                {"disabled": True})
        assert status == 200, body
        status, _ = await _get(script, f"{gateway.url}/api/v1/me")
        assert status == 401
    status, _ = await _get(alice, f"{gateway.url}/api/v1/me")
    assert status == 401
