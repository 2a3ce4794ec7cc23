"""Signing in with a real OpenLDAP directory: rights from directory groups, nested groups,
admin groups, the one 401, injection, the bootstrap admin, throttling, TLS."""

from __future__ import annotations

from typing import Any

from orch.config import Settings
from tests.integration.directory.conftest import DirGateway, document
from tests.integration.directory.slapd import PASSWORDS, Slapd

DEFAULTS = Settings()


async def _paths(gw: DirGateway, **auth: Any) -> set[str]:
    status, body = await gw.request("GET", "/api/v1/runbooks", **auth)
    assert status == 200, body
    return {r["path"] for r in body["items"]}


async def _seed(gw: DirGateway) -> dict[str, str]:
    ids = {}
    for folder in ("/Ops", "/Eng", "/Secret"):
        created = await gw.client.check_in(document(name="Hello", folder=folder))
        ids[folder] = created.path
    return ids


async def test_directory_user_gets_exactly_its_groups_rights(
    ldap_gateway, directory: Slapd
) -> None:
    gw = await ldap_gateway(directory)
    paths = await _seed(gw)
    # grants to directory groups orch has never seen: no local group is created by hand
    status, grant = await gw.grant("group:ops", "/Ops", "view", "start")
    assert status == 201, grant
    assert grant["principal"] == "group:ops"
    assert (await gw.grant("group:engineering", "/Eng", "view"))[0] == 201

    status, me, session = await gw.login("alice", PASSWORDS["alice"])
    assert status == 200, me
    assert me["name"] == "alice" and me["groups"] == ["ops"] and not me["is_admin"]
    assert me["directory"]["source"] == "ldap" and me["directory"]["groups"] == ["ops"]
    assert me["grants"] == [{"target": "/Ops", "rights": ["start", "view"]}]
    assert session is not None
    assert await _paths(gw, session=session) == {paths["/Ops"]}
    token = await gw.token_of(session)
    assert await _paths(gw, token=token) == {paths["/Ops"]}
    status, me = await gw.request("GET", "/api/v1/me", token=token)
    assert status == 200 and me["groups"] == ["ops"] and me["auth"] == "token"

    # start is granted on /Ops, not stop; nothing on /Secret (404: not even visible)
    status, job = await gw.request("POST", "/api/v1/jobs", token=token, json_body={
        "runbook": paths["/Ops"], "parameters": {"Name": "x"}})
    assert status == 201, job
    status, _ = await gw.request("POST", f"/api/v1/jobs/{job['id']}/stop", token=token)
    assert status == 403
    status, _ = await gw.request("POST", "/api/v1/jobs", token=token, json_body={
        "runbook": paths["/Secret"], "parameters": {"Name": "x"}})
    assert status == 404
    status, _ = await gw.request("GET", "/api/v1/users", token=token)
    assert status == 403

    # the sign-in is audited with the groups the directory gave
    logins = [a for a in await gw.audit("login") if a["actor"] == "alice"]
    assert logins and logins[-1]["data"]["directory"] == "ldap"
    assert logins[-1]["data"]["groups"] == ["ops"]


async def test_nested_group_membership(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory)
    paths = await _seed(gw)
    assert (await gw.grant("group:engineering", "/Eng", "view"))[0] == 201
    status, me, session = await gw.login("bob", PASSWORDS["bob"])
    assert status == 200, me
    # bob is in devs; devs is a member of engineering
    assert me["groups"] == ["devs", "engineering"]
    assert session is not None and await _paths(gw, session=session) == {paths["/Eng"]}
    # a cycle of nested groups ends (erin: loop-a <-> loop-b) and uniqueMember counts
    status, me, _ = await gw.login("erin", PASSWORDS["erin"])
    assert status == 200 and me["groups"] == ["auditors", "loop-a", "loop-b"]


async def test_admin_group_makes_an_orch_admin(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory)
    status, me, session = await gw.login("carol", PASSWORDS["carol"])
    assert status == 200 and me["is_admin"], me
    assert me["groups"] == ["admins", "orch-admins"]
    assert session is not None
    status, users = await gw.request("GET", "/api/v1/users", session=session)
    assert status == 200 and "carol" in {u["name"] for u in users["items"]}
    # without the admin group in the settings, carol is no admin
    gw2 = await ldap_gateway(directory, ldap_admin_groups=())
    status, me, _ = await gw2.login("carol", PASSWORDS["carol"])
    assert status == 200 and not me["is_admin"] and me["groups"] == ["orch-admins"]


async def test_wrong_password_unknown_and_disabled_users_get_the_same_401(
    ldap_gateway, directory: Slapd
) -> None:
    gw = await ldap_gateway(directory, login_max_failures=100)
    answers = []
    for name, password in (("alice", "not-her-password"), ("nobody", "whatever"),
                           ("dave", PASSWORDS["dave"])):
        status, body, _ = await gw.login(name, password)
        answers.append((status, body))
    assert all(a == (401, answers[0][1]) for a in answers), answers
    assert answers[0][1]["error"]["code"] == "bad-credentials"
    assert await gw.pool.fetchval("SELECT count(*) FROM users WHERE name = ANY($1)",
                                  ["nobody", "dave"]) == 0


async def test_injection_in_the_user_name_widens_nothing(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory, login_max_failures=100,
                            login_max_failures_per_address=100)
    # unescaped, each of these would match alice (and her password would bind)
    for name in ("al*", "*", "*)(uid=*", "alice)(uid=*", "a*e", "alice\\2a"):
        status, body, _ = await gw.login(name, PASSWORDS["alice"])
        assert status == 401, (name, body)
    status, _, _ = await gw.login("alice", PASSWORDS["alice"])
    assert status == 200


async def test_bootstrap_admin_signs_in_locally_whatever_the_directory(
    ldap_gateway, directory: Slapd
) -> None:
    gw = await ldap_gateway(directory)
    status, me, _ = await gw.login("admin", "test-password")
    assert status == 200 and me["is_admin"] and me["directory"] is None
    status, _, _ = await gw.login("admin", PASSWORDS["admin"])  # the directory's admin
    assert status == 401


async def test_local_user_unknown_to_the_directory_still_signs_in(
    ldap_gateway, directory: Slapd
) -> None:
    gw = await ldap_gateway(directory)
    status, _ = await gw.request("POST", "/api/v1/users",
                                 json_body={"name": "robot", "password": "robot-password"})
    assert status == 201
    status, me, _ = await gw.login("robot", "robot-password")
    assert status == 200 and me["directory"] is None


async def test_login_throttling_applies_to_directory_users(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory)
    for _ in range(DEFAULTS.login_max_failures):
        status, _, _ = await gw.login("alice", "wrong")
        assert status == 401
    status, body, _ = await gw.login("alice", PASSWORDS["alice"])
    assert status == 429 and body["error"]["code"] == "too-many-login-failures"


async def test_grants_to_directory_groups(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory)
    status, body = await gw.grant("group:no-such-group", "/Ops", "view")
    assert status == 422 and body["error"]["code"] == "unknown-principal"
    assert body["error"]["path"] == "$.principal"
    # injection in a group name finds nothing either
    status, body = await gw.grant("group:*", "/Ops", "view")
    assert status == 422
    status, groups = await gw.request("GET", "/api/v1/groups?limit=100")
    assert status == 200
    source = {g["name"]: g["source"] for g in groups["items"]}
    assert source["admins"] is None
    for name in ("ops", "devs", "engineering", "orch-admins", "auditors"):
        assert source[name] == "ldap", groups
    # once alice signed in, the directory group shows its orch members
    await gw.login("alice", PASSWORDS["alice"])
    status, group = await gw.request("GET", "/api/v1/groups?limit=100")
    ops = next(g for g in group["items"] if g["name"] == "ops")
    assert ops["members"] == ["alice"]


async def test_starttls_and_ldaps_with_the_test_ca(ldap_gateway, directory: Slapd) -> None:
    ca = str(directory.ca_file)
    for settings in ({"ldap_starttls": True, "ldap_ca_file": ca},
                     {"ldap_url": (directory.ldaps_url,), "ldap_ca_file": ca}):
        gw = await ldap_gateway(directory, **settings)
        status, me, _ = await gw.login("alice", PASSWORDS["alice"])
        assert status == 200 and me["groups"] == ["ops"], (settings, me)
    # without the CA the server's certificate is not trusted: the directory is unavailable
    gw = await ldap_gateway(directory, ldap_url=(directory.ldaps_url,))
    status, body, _ = await gw.login("alice", PASSWORDS["alice"])
    assert status == 503 and body["error"]["code"] == "directory-unavailable"
    assert directory.ldaps_url in body["error"]["message"]
    assert "CERTIFICATE_VERIFY_FAILED" in body["error"]["message"]


async def test_a_directory_user_disabled_in_orch_stays_out(ldap_gateway, directory: Slapd) -> None:
    gw = await ldap_gateway(directory)
    status, _, session = await gw.login("alice", PASSWORDS["alice"])
    assert status == 200 and session is not None
    token = await gw.token_of(session)
    status, _ = await gw.request("PATCH", "/api/v1/users/alice", json_body={"disabled": True})
    assert status == 200
    assert (await gw.request("GET", "/api/v1/me", token=token))[0] == 401
    assert (await gw.request("GET", "/api/v1/me", session=session))[0] == 401
    for typed in ("alice", "ALICE"):  # the directory matches names case-insensitively
        status, body, _ = await gw.login(typed, PASSWORDS["alice"])
        assert status in (401, 403) and body["error"]["code"] in (
            "bad-credentials", "user-disabled"), body
    assert await gw.pool.fetchval("SELECT count(*) FROM sessions s JOIN users u "
                                  "ON u.id = s.user_id WHERE u.name = 'alice'") == 0


async def test_the_directory_wins_over_a_local_user_of_the_same_name(
    ldap_gateway, directory: Slapd
) -> None:
    gw = await ldap_gateway(directory)
    status, local = await gw.request("POST", "/api/v1/users",
                                     json_body={"name": "alice", "password": "local-password"})
    assert status == 201
    status, _, _ = await gw.login("alice", "local-password")
    assert status == 401
    status, me, _ = await gw.login("alice", PASSWORDS["alice"])
    assert status == 200 and me["user_id"] == local["id"] and me["directory"] is not None
