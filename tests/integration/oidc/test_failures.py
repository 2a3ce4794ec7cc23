"""Every way the OpenID Connect sign-in can fail ends in a clear 4xx/503 and no session.

Each case drives the real provider as a person would, then changes one thing: the
browser's attempt (state), the authorization request (nonce), the provider's answer
(a tampered signature, an error), the code (replayed), or the provider itself (down,
or silent past the timeout).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web

from orch.config import Settings
from orch.gateway import make_app
from tests.integration.oidc.conftest import CALLBACK, Gateway
from tests.integration.oidc.provider import (
    Provider,
    log_in_at_provider,
    query_of,
    start,
)


async def _answer(http: aiohttp.ClientSession, url: str,
                  headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with http.get(url, allow_redirects=False, headers=headers) as resp:
        assert not any("orch_session=" in h for h in resp.headers.getall("Set-Cookie", [])), \
            "a failed sign-in set a session"
        body = await resp.json(content_type=None)
        return resp.status, body


async def _no_session(gw: Gateway, http: aiohttp.ClientSession) -> None:
    assert not any(c.key == "orch_session" for c in http.cookie_jar)
    async with http.get(f"{gw.url}/api/v1/me") as resp:
        assert resp.status == 401
    assert await gw.pool.fetchval("SELECT count(*) FROM sessions") == 0


async def test_state_of_another_attempt_is_refused_before_the_code_is_used(
        gateway: Gateway) -> None:
    http = gateway.browser()
    first = await start(http, gateway.url)
    await start(http, gateway.url)  # a second attempt: this browser now holds its cookie
    callback = await log_in_at_provider(http, first, "alice")
    status, body = await _answer(http, callback)
    assert status == 400
    assert body["error"]["code"] == "oidc-state"
    assert "state" in body["error"]["message"]
    await _no_session(gateway, http)
    assert await gateway.pool.fetchval("SELECT count(*) FROM users WHERE name = 'alice'") == 0


async def test_forged_state_and_missing_attempt_are_refused(gateway: Gateway) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "alice")
    forged = callback.replace(f"state={query_of(callback)['state']}", "state=forged")
    status, body = await _answer(http, forged)
    assert (status, body["error"]["code"]) == (400, "oidc-state")
    # the refusal used the attempt up: the genuine callback cannot follow
    status, body = await _answer(http, callback)
    assert (status, body["error"]["code"]) == (400, "oidc-attempt")
    # another browser (no attempt cookie: a link someone else started)
    async with aiohttp.ClientSession() as stranger:
        status, body = await _answer(stranger, callback)
    assert (status, body["error"]["code"]) == (400, "oidc-attempt")
    await _no_session(gateway, http)


async def test_an_answer_naming_another_issuer_is_refused(gateway: Gateway) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "alice")
    iss = query_of(callback)["iss"]  # RFC 9207: the provider names itself
    assert iss == gateway.settings.oidc_issuer
    mixed_up = callback.replace("iss=", "iss=https%3A%2F%2Fother-idp.example%2F&was=")
    status, body = await _answer(http, mixed_up)
    assert (status, body["error"]["code"]) == (400, "oidc-issuer")
    await _no_session(gateway, http)


async def test_an_id_token_with_another_nonce_is_refused(gateway: Gateway) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    nonce = query_of(authorize)["nonce"]
    # the provider issues a genuine, validly signed ID token for another nonce
    injected = authorize.replace(f"nonce={nonce}", "nonce=an-older-sign-in")
    callback = await log_in_at_provider(http, injected, "alice")
    status, body = await _answer(http, callback)
    assert status == 401
    assert body["error"]["code"] == "oidc-nonce"
    await _no_session(gateway, http)


async def test_a_tampered_id_token_signature_is_refused(
        gateway: Gateway, provider: Provider) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "bob")
    provider.faults(tamper_id_token=True)
    status, body = await _answer(http, callback)
    assert status == 401
    assert body["error"]["code"] == "oidc-id-token"
    assert "signature" in body["error"]["message"]
    await _no_session(gateway, http)
    assert await gateway.pool.fetchval("SELECT count(*) FROM users WHERE name = 'bob'") == 0


async def test_a_replayed_code_is_refused(gateway: Gateway) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "alice")
    attempt = next(c.value for c in http.cookie_jar if c.key == "orch_oidc")
    async with http.get(callback, allow_redirects=False) as resp:
        assert resp.status == 303
    # an attacker who copied the callback URL and the attempt cookie replays them
    async with aiohttp.ClientSession() as attacker:
        status, body = await _answer(attacker, callback, {"Cookie": f"orch_oidc={attempt}"})
    assert status == 400
    assert body["error"]["code"] == "oidc-code"
    assert "used already" in body["error"]["message"]
    assert await gateway.pool.fetchval("SELECT count(*) FROM sessions") == 1  # the first


async def test_the_provider_refusing_is_a_401(gateway: Gateway) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    state = query_of(authorize)["state"]
    status, body = await _answer(
        http, f"{gateway.url}{CALLBACK}?error=access_denied&error_description="
              f"The+user+cancelled&state={state}")
    assert status == 401
    assert body["error"]["code"] == "oidc-denied"
    assert "access_denied" in body["error"]["message"]
    assert "The user cancelled" in body["error"]["message"]
    await _no_session(gateway, http)


async def test_a_browser_gets_a_page_it_can_read(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as http, http.get(
            f"{gateway.url}{CALLBACK}?code=x&state=y",
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}) as resp:
        assert resp.status == 400
        assert resp.content_type == "text/html"
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        page = await resp.text()
    assert "Sign-in failed" in page and 'data-code="oidc-attempt"' in page
    assert 'href="/login"' in page


@pytest.mark.oidc_settings(oidc_issuer="http://127.0.0.1:9")
async def test_provider_unreachable_is_a_503(gateway: Gateway) -> None:
    http = gateway.browser()
    async with http.get(f"{gateway.url}/api/v1/session/oidc/start",
                        allow_redirects=False) as resp:
        assert resp.status == 503
        assert resp.headers["Retry-After"]
        body = await resp.json()
    assert body["error"]["code"] == "directory-unavailable"
    assert "OpenID provider http://127.0.0.1:9" in body["error"]["message"]
    assert not any(c.key == "orch_oidc" for c in http.cookie_jar)
    # the rest of the gateway goes on: the local admin still signs in
    async with http.post(f"{gateway.url}/api/v1/session",
                         json={"name": "admin", "password": "admin-password"}) as resp:
        assert resp.status == 200


async def test_a_silent_provider_is_a_503_after_the_timeout_not_a_hang(
        gateway: Gateway, provider: Provider) -> None:
    provider.faults(hang=("/.well-known/",))
    http = gateway.browser()
    async with http.get(f"{gateway.url}/api/v1/session/oidc/start",
                        allow_redirects=False) as resp:
        assert resp.status == 503
        body = await resp.json()
    assert body["error"]["code"] == "directory-unavailable"
    assert "no answer to the discovery request within 2 s" in body["error"]["message"]


async def test_provider_silent_at_the_code_exchange_is_a_503_and_no_session(
        gateway: Gateway, provider: Provider) -> None:
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "alice")
    provider.faults(hang=("/token",))
    status, body = await _answer(http, callback)
    assert status == 503
    assert body["error"]["code"] == "directory-unavailable"
    assert "token request" in body["error"]["message"]
    await _no_session(gateway, http)
    provider.faults()
    await gateway.sign_in("alice")  # back: the next attempt works


async def test_a_local_user_of_the_same_name_is_not_taken_over(gateway: Gateway) -> None:
    status, body = await gateway.admin_call("POST", "/api/v1/users",
                                            {"name": "alice", "password": "local-password"})
    assert status == 201, body
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "alice")
    status, body = await _answer(http, callback)
    assert status == 409
    assert body["error"]["code"] == "oidc-name-taken"
    await _no_session(gateway, http)
    assert await gateway.pool.fetchval("SELECT count(*) FROM external_identities") == 0


async def test_a_user_disabled_in_orch_cannot_sign_in(gateway: Gateway) -> None:
    await gateway.sign_in("alice")
    status, body = await gateway.admin_call("PATCH", "/api/v1/users/alice",
                                            {"disabled": True})
    assert status == 200, body
    http = gateway.browser()
    authorize = await start(http, gateway.url)
    callback = await log_in_at_provider(http, authorize, "alice")
    status, body = await _answer(http, callback)
    assert status == 403
    assert body["error"]["code"] == "user-disabled"
    assert not any(c.key == "orch_session" for c in http.cookie_jar)


async def test_without_configuration_the_routes_say_so(pool: Any) -> None:
    runner = web.AppRunner(make_app(Settings(), pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/v1/session/methods") as resp:
                assert resp.status == 200
                assert await resp.json() == {"password": True, "oidc": None}
            for path in ("/api/v1/session/oidc/start", CALLBACK):
                async with http.get(f"{url}{path}", allow_redirects=False) as resp:
                    assert resp.status == 404
                    assert (await resp.json())["error"]["code"] == "oidc-not-configured"
    finally:
        await runner.cleanup()
