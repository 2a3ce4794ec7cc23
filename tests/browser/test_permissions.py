"""Permissions in the console: a folder grant of view+start shows the runbook and its Start
button and the start works; a view-only grant shows the runbook without Start."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.conftest import ADMIN_TOKEN, Console, log_in

pytestmark = pytest.mark.timeout(240)


async def _operator(console: Console, name: str, rights: list[str]) -> str:
    """A user with a password and ``rights`` on the folder /Console; its password."""
    password = f"{name}-password"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(base_url=console.url, headers=headers) as http:
        async with http.post("/api/v1/users", json={"name": name, "password": password}) as r:
            assert r.status == 201, await r.text()
        async with http.post("/api/v1/grants", json={
                "principal": f"user:{name}", "target": "/Console", "rights": rights}) as r:
            assert r.status == 201, await r.text()
    return password


async def test_operator_with_view_and_start_sees_start_and_starts(
    page: Any, console: Console
) -> None:
    await log_in(page, "oscar", await _operator(console, "oscar", ["view", "start"]))
    runbooks = page.locator(".runbook-list")
    await expect(runbooks.get_by_role("link", name="Slow hello")).to_be_visible()
    await expect(runbooks.get_by_role("link", name="Hello", exact=True)).to_have_count(0)
    await runbooks.get_by_role("link", name="Slow hello").click()
    await expect(page.get_by_role("heading", name=re.compile("^Slow hello"))).to_be_visible()
    await page.get_by_role("button", name="Start", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill("Oscar")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    await expect(dialog).to_have_count(0)
    row = page.locator("tr[data-job-id]").first
    await expect(row).to_be_visible()
    job = await console.client.get_job(await row.get_attribute("data-job-id"))
    assert job.created_by == "oscar" and job.parameters == {"Name": "Oscar"}
    assert page.console_errors == []


async def test_operator_with_view_only_sees_no_start(page: Any, console: Console) -> None:
    await log_in(page, "vera", await _operator(console, "vera", ["view"]))
    runbooks = page.locator(".runbook-list")
    await runbooks.get_by_role("link", name="Slow hello").click()
    await expect(page.get_by_role("heading", name=re.compile("^Slow hello"))).to_be_visible()
    await expect(page.locator(".actions")).to_be_attached()
    await expect(page.get_by_role("button", name="Start", exact=True)).to_have_count(0)
    assert page.console_errors == []
