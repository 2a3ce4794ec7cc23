"""Console sessions: password log-in, the cookie's flags, CSRF on writes, log-out, /me."""

from __future__ import annotations

import aiohttp

from orch.db.bootstrap import hash_password
from orch.gateway.session import COOKIE, CSRF_HEADER
from tests.integration.gateway.conftest import Api, document

LOGIN = {"name": "admin", "password": "test-password"}


async def _login(
    api: Api, body: dict | None = None
) -> tuple[aiohttp.ClientSession, dict, aiohttp.ClientResponse]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    resp = await http.post(f"{api.url}/api/v1/session", json=body or LOGIN)
    answer = await resp.json()
    return http, answer, resp


async def test_login_sets_a_strict_httponly_cookie_and_me_works(api: Api) -> None:
    http, me, resp = await _login(api)
    async with http:
        assert resp.status == 200, me
        cookie = resp.cookies[COOKIE]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/"
        assert not cookie["secure"]  # plain http on loopback
        assert me["name"] == "admin" and me["is_admin"] is True
        assert me["groups"] == ["admins"] and me["auth"] == "session"
        assert me["csrf_token"]
        async with http.get(f"{api.url}/api/v1/me") as r:
            assert r.status == 200
            again = await r.json()
        assert again["csrf_token"] == me["csrf_token"]
        async with http.get(f"{api.url}/api/v1/runbooks") as r:
            assert r.status == 200
    # The database holds the session by the secret's hash only.
    stored = await api.pool.fetchval("SELECT secret_hash FROM sessions")
    assert stored != cookie.value and len(stored) == 64


async def test_wrong_password_unknown_user_and_disabled_user_are_401(api: Api) -> None:
    await api.make_user("off", disabled=True)
    await api.pool.execute("UPDATE users SET password_hash = $1 WHERE name = 'off'",
                           hash_password("pw-off"))
    for body in ({"name": "admin", "password": "nope"}, {"name": "ghost", "password": "x"},
                 {"name": "off", "password": "pw-off"}):
        http, answer, resp = await _login(api, body=body)
        async with http:
            assert resp.status == 401, answer
            assert COOKIE not in resp.cookies
    actions = [r["action"] for r in await api.pool.fetch("SELECT action FROM audit ORDER BY id")]
    assert actions.count("login_failed") == 3


async def test_login_needs_json_and_same_origin(api: Api) -> None:
    async with api.http.post(f"{api.url}/api/v1/session", data="name=admin&password=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
        assert r.status == 415
    async with api.http.post(f"{api.url}/api/v1/session", json=LOGIN,
                             headers={"Origin": "http://evil.example"}) as r:
        assert r.status == 403


async def test_cookie_writes_need_the_csrf_token(api: Api) -> None:
    created = await api.client.check_in(document())
    http, me, _ = await _login(api)
    start = {"runbook": created.path, "parameters": {"Name": "x"}}
    async with http:
        async with http.post(f"{api.url}/api/v1/jobs", json=start) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "csrf"
        async with http.post(f"{api.url}/api/v1/jobs", json=start,
                             headers={CSRF_HEADER: "wrong"}) as r:
            assert r.status == 403
        async with http.post(f"{api.url}/api/v1/jobs", json=start,
                             headers={CSRF_HEADER: me["csrf_token"]}) as r:
            assert r.status == 201, await r.text()
            job = await r.json()
        assert job["created_by"] == "admin"


async def test_logout_ends_the_session(api: Api) -> None:
    http, me, _ = await _login(api)
    async with http:
        async with http.delete(f"{api.url}/api/v1/session") as r:
            assert r.status == 403  # a write: needs the CSRF token
        async with http.delete(f"{api.url}/api/v1/session",
                               headers={CSRF_HEADER: me["csrf_token"]}) as r:
            assert r.status == 204
        async with http.get(f"{api.url}/api/v1/me") as r:
            assert r.status == 401
    assert await api.pool.fetchval("SELECT count(*) FROM sessions") == 0


async def test_a_stolen_cookie_of_a_disabled_user_stops_working(api: Api) -> None:
    await api.pool.execute("UPDATE users SET password_hash = $1 WHERE name = 'admin'",
                           hash_password("test-password"))
    http, _, _ = await _login(api)
    async with http:
        await api.pool.execute("UPDATE users SET disabled = true WHERE name = 'admin'")
        async with http.get(f"{api.url}/api/v1/me") as r:
            assert r.status == 401


async def test_bearer_token_me_and_grants(api: Api) -> None:
    token = await api.make_user("operator")
    user_id = await api.pool.fetchval("SELECT id FROM users WHERE name = 'operator'")
    await api.pool.execute(
        "INSERT INTO groups (id, name) VALUES (gen_random_uuid(), 'ops');"
    )
    await api.pool.execute(
        "INSERT INTO group_members (group_id, user_id) SELECT id, $1 FROM groups WHERE name='ops'",
        user_id,
    )
    await api.pool.execute(
        "INSERT INTO grants (id, principal_kind, principal_id, target_path, rights) VALUES "
        "(gen_random_uuid(), 'user', $1, '/Ops', '{view,start}'), "
        "(gen_random_uuid(), 'group', (SELECT id FROM groups WHERE name='ops'), '/Ops', "
        "'{view,stop}')",
        user_id,
    )
    status, me = await api.request("GET", "/api/v1/me", token=token)
    assert status == 200
    assert me["auth"] == "token" and me["csrf_token"] is None and me["is_admin"] is False
    assert me["groups"] == ["ops"]
    assert me["grants"] == [{"target": "/Ops", "rights": ["start", "stop", "view"]}]


async def test_expired_session_is_401(api: Api) -> None:
    http, _, _ = await _login(api)
    async with http:
        await api.pool.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
        async with http.get(f"{api.url}/api/v1/runbooks") as r:
            assert r.status == 401


async def test_cookie_websocket_from_another_origin_is_refused(api: Api) -> None:
    http, _, _ = await _login(api)
    async with http, http.get(f"{api.url}/api/v1/me", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Origin": "http://evil.example",
    }) as r:
        assert r.status == 403
