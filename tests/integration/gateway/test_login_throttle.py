"""Login rate limiting: failures per (name, address) and per address over a sliding
window shared through the database; 429 with Retry-After even for the right password."""

from __future__ import annotations

from typing import Any

from orch.config import Settings
from tests.integration.gateway.conftest import Api

GOOD = {"name": "admin", "password": "test-password"}
DEFAULTS = Settings()


async def _login(api: Api, name: str, password: str) -> tuple[int, dict[str, str], Any]:
    async with api.http.post(f"{api.url}/api/v1/session",
                             json={"name": name, "password": password}) as resp:
        return resp.status, dict(resp.headers), await resp.json()


async def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    async with api.pool.acquire() as conn:
        rows = await conn.fetch("SELECT actor, data FROM audit WHERE action = $1 ORDER BY id",
                                action)
    return [dict(r) for r in rows]


async def _move_clock_past_window(api: Api) -> None:
    async with api.pool.acquire() as conn:
        await conn.execute("INSERT INTO test_clock (now) VALUES "
                           "(now() + make_interval(secs => $1::float8 + 1))",
                           DEFAULTS.login_window_seconds)


async def test_bad_logins_lock_the_name_even_for_the_right_password(api: Api) -> None:
    limit = DEFAULTS.login_max_failures
    for _ in range(limit):
        status, _, body = await _login(api, "admin", "wrong")
        assert status == 401, body
    locked = await _audit(api, "login_locked_out")
    assert len(locked) == 1 and locked[0]["actor"] == "admin"
    assert locked[0]["data"]["remote"] == "127.0.0.1"
    status, headers, body = await _login(api, "admin", "test-password")
    assert status == 429 and body["error"]["code"] == "too-many-login-failures"
    retry = int(headers["Retry-After"])
    assert 0 < retry <= DEFAULTS.login_window_seconds
    assert len(await _audit(api, "login_failed")) == limit  # refusals are not counted
    assert await _audit(api, "login") == []
    # another name from the same address is not locked by these failures
    status, _, _ = await _login(api, "someone", "wrong")
    assert status == 401
    await _move_clock_past_window(api)
    status, _, body = await _login(api, "admin", "test-password")
    assert status == 200 and body["name"] == "admin"


async def test_many_names_from_one_address_lock_the_address(api: Api) -> None:
    per_name = DEFAULTS.login_max_failures - 1  # never enough to lock a single name
    tried = 0
    n = 0
    while tried < DEFAULTS.login_max_failures_per_address:
        for _ in range(min(per_name, DEFAULTS.login_max_failures_per_address - tried)):
            status, _, _ = await _login(api, f"guess{n}", "wrong")
            assert status == 401
            tried += 1
        n += 1
    status, headers, _ = await _login(api, "admin", "test-password")
    assert status == 429 and int(headers["Retry-After"]) >= 1
    await _move_clock_past_window(api)
    status, _, _ = await _login(api, "admin", "test-password")
    assert status == 200
