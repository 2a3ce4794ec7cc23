"""Screenshots of the console's main pages for the README (``docs/screenshots/``).

Not part of a normal run: set ``ORCH_SCREENSHOTS=docs/screenshots`` to write
them. They use the same real gateway and runbook server as the other browser
tests, with a few jobs run first so the pages have something to show.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import ROOT, RUNBOOKS, Console, log_in

pytestmark = [pytest.mark.timeout(300)]

OUT = os.environ.get("ORCH_SCREENSHOTS")


async def _finished(console: Console, job_id: str) -> None:
    for _ in range(400):
        job = await console.client.get_job(job_id)
        if job.status in {"success", "warning", "failed", "stopped"}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.skipif(not OUT, reason="set ORCH_SCREENSHOTS=docs/screenshots to take them")
async def test_screenshots(page: Any, console: Console) -> None:
    out = Path(OUT or "")
    out = out if out.is_absolute() else ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    client = console.client
    hello = await client.start_job("/Examples/Hello", {"Name": "World"})
    branching = await client.start_job("/Examples/Branching", {"Number": 42})
    await client.start_job("/Examples/Branching", {"Number": 7})
    await client.start_job("/Console/Typed/Counter", {"Count": 3, "Loud": True})
    for job in (hello, branching):
        await _finished(console, job.id)
    await client.start_job("/Console/Sleeper", {})
    await client.start_job("/Console/Deploy with approval", {})

    async def shot(name: str) -> None:
        await page.wait_for_timeout(300)  # let the fonts and the toast settle
        await page.screenshot(path=str(out / f"{name}.png"), full_page=True)

    await page.goto("/login")
    await page.get_by_role("button", name="Log in").wait_for()
    await shot("login")
    await log_in(page)
    await expect(page.locator(".runbook-list tbody tr")).to_have_count(len(RUNBOOKS))
    await shot("runbooks")

    await page.goto(f"/runbooks/{console.runbooks['/Examples/Branching']}")
    await expect(page.locator("tr[data-job-id]")).to_have_count(2)
    await shot("runbook")
    await page.get_by_role("button", name="Start", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Number").fill("forty-two")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    await expect(dialog.locator(".field-error:not([hidden])")).to_be_visible()
    await page.screenshot(path=str(out / "start-form.png"))
    await dialog.get_by_role("button", name="Cancel").click()

    await page.goto("/jobs")
    await expect(page.locator("tr[data-job-id]")).to_have_count(6)
    await shot("jobs")

    job = await client.get_job(branching.id)
    await page.goto(f"/instances/{job.instance_id}")
    await expect(page.locator("details.run")).to_have_count(3)
    await shot("instance")

    await page.goto("/approvals")
    await expect(page.locator("li.approval")).to_have_count(1)
    await shot("approvals")

    await page.goto("/servers")
    await expect(page.locator("tr[data-server]")).to_have_count(1)
    await shot("servers")

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"/instances/{job.instance_id}")
    await expect(page.locator("details.run")).to_have_count(3)
    await page.screenshot(path=str(out / "phone-instance.png"))
    await page.goto("/runbooks")
    await expect(page.locator(".runbook-list tbody tr")).to_have_count(len(RUNBOOKS))
    await page.screenshot(path=str(out / "phone-runbooks.png"))
