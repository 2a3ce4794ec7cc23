"""The jobs list (filters, live additions) and child runbooks on an instance page."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Console, log_in, require_live_feed

pytestmark = pytest.mark.timeout(180)

FINAL = {"success", "warning", "failed", "stopped"}


async def _ended(console: Console, job_id: str) -> str:
    for _ in range(400):
        job = await console.client.get_job(job_id)
        if job.status in FINAL:
            return job.status
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


async def test_filters_and_live_additions(page: Any, console: Console) -> None:
    await require_live_feed(console)
    ok = await console.client.start_job("/Examples/Hello", {"Name": "a"})
    halted = await console.client.start_job("/Console/Sleeper", {})
    assert await _ended(console, ok.id) == "success"
    await console.client.stop_job(halted.id)
    assert await _ended(console, halted.id) == "stopped"
    await log_in(page)
    await page.goto("/jobs")
    rows = page.locator("tr[data-job-id]")
    await expect(rows).to_have_count(2)

    await page.get_by_label("Status").select_option("success")
    await expect(page).to_have_url(re.compile(r"/jobs\?status=success$"))
    await expect(rows).to_have_count(1)
    await expect(page.locator(f'tr[data-job-id="{ok.id}"]')).to_be_visible()

    # A new job that matches appears at the top by itself; one that does not, does not.
    newer = await console.client.start_job("/Examples/Hello", {"Name": "b"})
    await expect(rows.first).to_have_attribute("data-job-id", newer.id)
    await expect(rows.first.locator(".badge")).to_have_text("success")
    sleeper = await console.client.start_job("/Console/Sleeper", {})
    await expect(rows).to_have_count(2)

    await page.get_by_label("Runbook").fill("/Console/Sleeper")
    await page.get_by_label("Status").select_option("")
    await expect(page).to_have_url(re.compile(r"/jobs\?runbook=%2FConsole%2FSleeper$"))
    await expect(page.locator(f'tr[data-job-id="{sleeper.id}"]')).to_be_visible()
    await expect(page.locator(f'tr[data-job-id="{halted.id}"] .badge')).to_have_text("stopped")
    await expect(rows).to_have_count(2)

    await page.goto("/jobs?server=nobody")
    await expect(page.locator("tr.empty-row")).to_contain_text("No job matches")
    await page.goto("/jobs?server=rb-console&status=success")
    await expect(rows).to_have_count(2)
    await page.goto("/jobs?to=2000-01-01T00:00:00Z")
    await expect(rows).to_have_count(0)
    await console.client.stop_job(sleeper.id)
    assert page.console_errors == []


async def test_an_instance_links_to_its_child_runbooks(page: Any, console: Console) -> None:
    parent = await console.client.start_job("/Examples/Parent", {"Number": 4})
    assert await _ended(console, parent.id) == "success"
    await log_in(page)
    await page.goto(f"/jobs/{parent.id}")
    children = page.locator('section[aria-labelledby="children-h"]')
    link = children.get_by_role("link", name="/Examples/Child")
    await expect(link).to_be_visible()
    await link.click()
    await expect(page.get_by_role("link", name="/Examples/Child").first).to_be_visible()
    await expect(page.locator("dl.facts")).to_contain_text("Started by job")
    await expect(page.locator('section[aria-labelledby="returned-h"]')).to_contain_text("8")
    assert page.console_errors == []
