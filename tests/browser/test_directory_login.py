"""Signing in to the console with a directory account (a real slapd), in chromium.

alice is in the directory group ``ops``, which is granted view+start on /Ops: after
logging in through the console's ordinary form she sees the /Ops runbook with its
Start button, never /Secret, and a start works; a wrong password gets the form's
message. The ``console`` fixture of tests/browser/conftest.py is replaced here by
one whose gateway signs in against the test directory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import asyncpg
import msgspec
import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from orch.client import Client
from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_TOKEN, Console, _require_chromium, log_in
from tests.integration.directory.slapd import PASSWORDS, Slapd, remove, start_slapd
from tests.integration.gateway.conftest import document
from tests.integration.helpers import fast_settings

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def slapd() -> Iterator[Slapd]:
    server = start_slapd()
    try:
        yield server
    finally:
        remove(server)


@pytest_asyncio.fixture(loop_scope="function")
async def console(pool: asyncpg.Pool, slapd: Slapd) -> AsyncIterator[Console]:
    _require_chromium()
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password=ADMIN_PASSWORD)
    ldap = {k: v for k, v in msgspec.structs.asdict(slapd.settings()).items()
            if k.startswith("ldap_")}
    settings = fast_settings(server_name="rb-directory").replace(**ldap)
    runner = web.AppRunner(make_app(settings, pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with Client(url, ADMIN_TOKEN) as client:
            ids = {}
            for folder, name in (("/Ops", "Restart service"), ("/Secret", "Payroll")):
                created = await client.check_in(document(name=name, folder=folder))
                ids[created.path] = created.id
            yield Console(url=url, client=client, pool=pool, runbooks=ids)
    finally:
        await runner.cleanup()


async def _grant_ops(console: Console) -> None:
    """A grant to the directory group ops, which orch has never seen before."""
    async with aiohttp.ClientSession(base_url=console.url) as http, http.post(
        "/api/v1/grants", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        json={"principal": "group:ops", "target": "/Ops", "rights": ["view", "start"]},
    ) as r:
        assert r.status == 201, await r.text()


async def test_directory_user_signs_in_and_sees_its_groups_runbooks(
    page: Any, console: Console
) -> None:
    await _grant_ops(console)
    await log_in(page, "alice", PASSWORDS["alice"])
    runbooks = page.locator(".runbook-list")
    await expect(runbooks.get_by_role("link", name="Restart service")).to_be_visible()
    await expect(runbooks.get_by_role("link", name="Payroll")).to_have_count(0)
    await runbooks.get_by_role("link", name="Restart service").click()
    await expect(page.get_by_role("heading", name=re.compile("^Restart service"))).to_be_visible()
    await page.get_by_role("button", name="Start", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill("Alice")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    await expect(dialog).to_have_count(0)
    row = page.locator("tr[data-job-id]").first
    await expect(row).to_be_visible()
    job = await console.client.get_job(await row.get_attribute("data-job-id"))
    assert job.created_by == "alice" and job.parameters == {"Name": "Alice"}
    assert page.console_errors == []


async def test_wrong_directory_password_shows_the_forms_message(
    page: Any, console: Console
) -> None:
    await page.goto("/")
    await page.get_by_label("User name").fill("alice")
    await page.get_by_label("Password").fill("not-her-password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
