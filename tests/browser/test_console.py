"""Operators' journeys through the console, in chromium, against a real gateway and server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from orch.db.bootstrap import hash_password
from tests.browser.conftest import Console, log_in, require_live_feed

pytestmark = pytest.mark.timeout(180)


async def test_log_in_browse_and_search(page: Any, console: Console) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("User name").fill("admin")
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")

    await log_in(page)
    runbooks = page.locator(".runbook-list")
    for name in ("Hello", "Branching", "Slow hello", "Sleeper", "Counter"):
        await expect(runbooks.get_by_role("link", name=name, exact=True)).to_be_visible()
    await page.get_by_label("Search by name").fill("hel")
    await expect(runbooks.get_by_role("link", name="Hello", exact=True)).to_be_visible()
    await expect(runbooks.get_by_role("link", name="Slow hello")).to_be_visible()
    await expect(runbooks.get_by_role("link", name="Sleeper")).to_have_count(0)

    folders = page.get_by_role("navigation", name="Folders")
    await folders.get_by_role("link", name=re.compile(r"^Typed")).click()
    await expect(page.get_by_role("heading", name="Runbooks in /Console/Typed")).to_be_visible()
    await page.get_by_label("Search by name").fill("")
    await expect(runbooks.get_by_role("link", name="Counter")).to_be_visible()
    await expect(runbooks.get_by_role("link", name="Hello", exact=True)).to_have_count(0)

    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await page.goto("/jobs")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fjobs"))
    assert page.console_errors == []


async def test_start_from_the_form_and_watch_it_live(page: Any, console: Console) -> None:
    await require_live_feed(console)
    await log_in(page)
    await page.locator(".runbook-list").get_by_role("link", name="Slow hello").click()
    await expect(page.get_by_role("heading", name=re.compile("^Slow hello"))).to_be_visible()
    await page.evaluate("window.__sameDocument = true")

    await page.get_by_role("button", name="Start", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill("World")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    await expect(dialog).to_have_count(0)

    row = page.locator("tr[data-job-id]").first
    await expect(row).to_be_visible()
    job_id = await row.get_attribute("data-job-id")
    job_row = page.locator(f'tr[data-job-id="{job_id}"]')
    await expect(job_row.locator(".badge")).to_have_text("running")
    await expect(job_row.locator(".badge")).to_have_text("success", timeout=20_000)
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    job = await console.client.get_job(job_id)
    assert job.parameters == {"Name": "World"} and job.status == "success"

    await job_row.get_by_role("link", name=job.instance_id[:8]).click()
    await expect(page.get_by_role("heading", name=re.compile(f"^Job {job_id[:8]}"))).to_be_visible()
    greet = page.locator('details.run[data-activity="greet"]')
    await expect(greet).to_contain_text("Output")
    await expect(greet).to_contain_text("Hello, World!")
    await expect(page.get_by_role("heading", name="Returned data")).to_be_visible()
    returned = page.locator('section[aria-labelledby="returned-h"] table.kv')
    await expect(returned).to_contain_text("Hello, World!")
    # The path taken is highlighted on the graph: every link was followed.
    await expect(page.locator("svg.graph path.link.taken")).to_have_count(3)
    await expect(page.locator('svg.graph .node.st-success')).to_have_count(4)
    assert page.console_errors == []


async def test_follow_a_running_instance_then_stop_it(page: Any, console: Console) -> None:
    await log_in(page)
    await page.goto(f"/runbooks/{console.runbooks['/Console/Sleeper']}")
    await page.get_by_role("button", name="Start", exact=True).click()
    await page.get_by_role("dialog").get_by_role("button", name="Start", exact=True).click()
    row = page.locator("tr[data-job-id]").first
    job_id = await row.get_attribute("data-job-id")
    await row.get_by_role("link", name=job_id[:8]).click()

    await expect(page.locator("#instance-status .badge")).to_have_text("running")
    nap = page.locator('details.run[data-activity="nap"] .badge').first
    await expect(nap).to_have_text("running")
    await page.get_by_role("button", name="Stop", exact=True).click()
    confirm = page.get_by_role("alertdialog")
    await expect(confirm).to_contain_text("Stop this job?")
    await confirm.get_by_role("button", name="Stop job").click()
    await expect(page.locator("h1 .badge")).to_have_text("stopped", timeout=20_000)
    await expect(nap).to_have_text("stopped")
    await expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0)
    job = await console.client.get_job(job_id)
    assert job.status == "stopped"

    # A finished job can be run again: a new job of the same runbook and parameters.
    await page.get_by_role("button", name="Re-run").click()
    other_job = re.compile(r"^Job (?!" + job_id[:8] + ")")
    await expect(page.get_by_role("heading", name=other_job)).to_be_visible()
    assert page.console_errors == []


async def test_bad_parameters_show_their_message_next_to_the_field(page: Any,
                                                                   console: Console) -> None:
    await log_in(page)
    await page.goto(f"/runbooks/{console.runbooks['/Console/Typed/Counter']}")
    await page.get_by_role("button", name="Start", exact=True).click()
    dialog = page.get_by_role("dialog")
    count = dialog.get_by_label("Count")
    hint = dialog.locator('[data-parameter="Count"] .hint')
    await expect(hint).to_contain_text("integer · required")
    await expect(dialog.locator('[data-parameter="Loud"] .hint')).to_contain_text("default: false")

    # Required and empty: said before anything is sent.
    await dialog.get_by_role("button", name="Start", exact=True).click()
    field = dialog.locator('[data-parameter="Count"]')
    await expect(field.locator(".field-error")).to_have_text("Enter a value for Count.")
    await expect(count).to_have_attribute("aria-invalid", "true")

    # Not an integer: the API's 422 fault ($.parameters.Count) lands next to the field.
    await count.fill("many")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    await expect(field.locator(".field-error")).to_contain_text("expected an integer")
    await expect(count).to_be_focused()
    described = await count.get_attribute("aria-describedby")
    error_id = await field.locator(".field-error").get_attribute("id")
    assert error_id in described.split()
    jobs = await console.client.list_jobs()
    assert jobs.items == []

    await count.fill("3")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("tr[data-job-id]")).to_have_count(1)
    assert page.console_errors == []


async def test_approve_a_waiting_approval_step(page: Any, console: Console) -> None:
    job = await console.client.start_job("/Console/Deploy with approval", {})
    await log_in(page)
    await page.goto(f"/jobs/{job.id}")
    approval = page.locator("li.approval")
    await expect(approval).to_contain_text("Deploy to production?")
    await approval.get_by_label("Comment").fill("go ahead")
    await approval.get_by_role("button", name="Approve").click()
    await expect(page.locator("h1 .badge")).to_have_text("success")
    await expect(approval).to_have_count(0)
    ask = page.locator('details.run[data-activity="ask"]')
    await expect(ask).to_contain_text("approved")
    await expect(page.locator('details.run[data-activity="deploy"] .badge')).to_have_text("success")
    assert page.console_errors == []


async def test_an_operator_without_a_grant_sees_no_runbook(page: Any, console: Console) -> None:
    """Whatever the permission model answers (a 403 for the list, or a list filtered to
    the caller's grants), an operator granted nothing sees no runbook and no Start."""
    await console.pool.execute(
        "INSERT INTO users (id, name, password_hash) VALUES (gen_random_uuid(), 'olga', $1)",
        hash_password("olga-password"),
    )
    await log_in(page, "olga", "olga-password")
    await expect(page.locator("#who-name")).to_have_text("olga")
    await expect(page.locator(".runbook-list")).to_contain_text("No runbooks")
    await expect(page.get_by_role("link", name="Hello", exact=True)).to_have_count(0)
    await page.goto(f"/runbooks/{console.runbooks['/Examples/Hello']}")
    await expect(page.get_by_role("heading", name="Not available")).to_be_visible()
    await expect(page.get_by_role("button", name="Start", exact=True)).to_have_count(0)
    assert page.console_errors == []


async def test_keyboard_selects_an_activity_on_the_graph(page: Any, console: Console) -> None:
    job = await console.client.start_job("/Examples/Hello", {"Name": "keys"})
    await log_in(page)
    await page.goto(f"/jobs/{job.id}")
    await expect(page.locator("h1 .badge")).to_have_text("success")
    node = page.locator('svg.graph .node[data-activity="greet"]')
    await node.focus()
    await page.keyboard.press("Enter")
    await expect(node).to_have_class(re.compile(r"\bselected\b"))
    greet = page.locator('details.run[data-activity="greet"]')
    await expect(greet).to_have_attribute("open", "")
    await expect(greet.locator("summary")).to_be_focused()
    await expect(greet).to_contain_text("Hello, keys!")
