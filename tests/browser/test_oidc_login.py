"""Signing in to the console through a real OpenID provider, in chromium.

The provider is tests/oidc_provider (oidc-provider on Node) on 127.0.0.1; the gateway
is registered with it as a client. The person clicks "Sign in with Test IdP" on the
console's log-in page, types a user name and password into the *provider's* form,
and lands back in the console, signed in, seeing exactly the runbooks its provider
groups were granted.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from tests.browser.conftest import TIMEOUT_MS, Console
from tests.integration.gateway.conftest import document
from tests.integration.oidc.conftest import oidc_settings
from tests.integration.oidc.provider import USERS, Provider, run_provider

pytestmark = pytest.mark.timeout(180)

ADMIN_TOKEN = "orch_browser-oidc-admin"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with run_provider() as p:
        yield p


@dataclass
class OidcConsole:
    url: str
    pool: asyncpg.Pool


@pytest_asyncio.fixture(loop_scope="function")
async def oidc_console(pool: asyncpg.Pool, provider: Provider) -> AsyncIterator[OidcConsole]:
    provider.faults()
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="admin-password")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = oidc_settings(provider, url, oidc_label="Test IdP")
    runner = web.AppRunner(make_app(settings, pool), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        async with aiohttp.ClientSession(
                base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
            for name, folder in (("Restart web", "/Ops"), ("Rotate keys", "/Security"),
                                 ("Hello", "/Examples")):
                async with admin.post("/api/v1/runbooks",
                                      json=document(name=name, folder=folder)) as resp:
                    assert resp.status == 201, await resp.text()
            # the provider's group "ops" is the principal group:ops; made known ahead of
            # the first sign-in of one of its members so it can be granted now
            async with admin.post("/api/v1/groups", json={"name": "ops"}) as resp:
                assert resp.status == 201, await resp.text()
            async with admin.post("/api/v1/grants", json={
                    "principal": "group:ops", "target": "/Ops",
                    "rights": ["view", "start"]}) as resp:
                assert resp.status == 201, await resp.text()
        yield OidcConsole(url=url, pool=pool)
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="function")
async def oidc_page(browser: Any, oidc_console: OidcConsole) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800},
                                        base_url=oidc_console.url)
    context.set_default_timeout(TIMEOUT_MS)
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors
    try:
        yield pg
    finally:
        await context.close()


async def test_sign_in_through_the_provider_and_see_exactly_the_granted_runbooks(
        oidc_page: Any, oidc_console: OidcConsole, provider: Provider) -> None:
    page = oidc_page
    await page.goto("/runbooks")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Frunbooks"))
    sso = page.get_by_role("link", name="Sign in with Test IdP")
    await expect(sso).to_be_visible()
    await sso.click()

    # the provider's own page, on the provider's origin
    await expect(page).to_have_url(re.compile(re.escape(provider.issuer) + r"/interaction/"))
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("not-her-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(USERS["alice"]["password"])
    await page.get_by_role("button", name="Sign in").click()

    # back in the console, signed in, on the page the sign-in started from
    await expect(page).to_have_url(f"{oidc_console.url}/runbooks")
    await expect(page.locator("#who-name")).to_have_text("alice")
    runbooks = page.locator(".runbook-list")
    await expect(runbooks.get_by_role("link", name="Restart web", exact=True)).to_be_visible()
    await expect(runbooks.get_by_role("link")).to_have_count(1)
    await expect(runbooks.get_by_role("link", name="Rotate keys")).to_have_count(0)
    await expect(runbooks.get_by_role("link", name="Hello")).to_have_count(0)

    # the granted right works from the console: Start is offered on the runbook
    await runbooks.get_by_role("link", name="Restart web", exact=True).click()
    await expect(page.get_by_role("heading", name=re.compile("^Restart web"))).to_be_visible()
    await expect(page.get_by_role("button", name="Start", exact=True)).to_be_visible()

    # logging out ends the orch session; the log-in page offers the provider again
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
    assert await oidc_console.pool.fetchval("SELECT count(*) FROM sessions") == 0
    assert page.console_errors == []


async def test_an_admin_group_member_sees_everything(
        oidc_page: Any, oidc_console: OidcConsole) -> None:
    page = oidc_page
    await page.goto("/login")
    await page.get_by_role("link", name="Sign in with Test IdP").click()
    await page.get_by_label("Username").fill("bob")
    await page.get_by_label("Password").fill(USERS["bob"]["password"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-name")).to_have_text("bob (admin)")
    runbooks = page.locator(".runbook-list")
    for name in ("Restart web", "Rotate keys", "Hello"):
        await expect(runbooks.get_by_role("link", name=name, exact=True)).to_be_visible()


async def test_a_failed_sign_in_shows_why_and_leads_back(
        oidc_page: Any, oidc_console: OidcConsole) -> None:
    page = oidc_page
    # a callback this browser did not start (e.g. an old bookmark or a forged link)
    await page.goto("/api/v1/session/oidc/callback?code=abc&state=xyz")
    await expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("start the sign-in again")
    await page.get_by_role("link", name="Back to the log-in page").click()
    await expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()


async def test_no_provider_no_button(page: Any, console: Console) -> None:
    async with page.expect_response("**/api/v1/session/methods") as answer:
        await page.goto("/login")
    assert (await (await answer.value).json())["oidc"] is None
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await expect(page.locator("#login-oidc")).to_have_count(0)
