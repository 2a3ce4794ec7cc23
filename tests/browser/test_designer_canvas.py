"""The visual designer in chromium: a runbook built only on the canvas and in the forms."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import ROOT, Console, log_in

pytestmark = pytest.mark.timeout(300)

SHOTS = os.environ.get("ORCH_SCREENSHOTS")


async def shot(page: Any, name: str) -> None:
    if not SHOTS:
        return
    out = ROOT / SHOTS if not os.path.isabs(SHOTS) else SHOTS
    await page.evaluate("document.getElementById('toast').classList.remove('show')")
    await page.wait_for_timeout(400)  # the toast fades, the fonts settle
    await page.screenshot(path=str(out / name), full_page=False)


async def add_from_palette(page: Any, search: str, entry: str) -> None:
    """Search the palette, select the entry, click Add (next to the selected activity)."""
    await page.get_by_label("Search activities").fill(search)
    await page.locator(".palette-item", has_text=entry).first.click()
    await page.locator("#palette-add").click()


def link_between(page: Any, source: str, target: str) -> Any:
    return page.locator(f'svg.canvas [data-link][data-from="{source}"][data-to="{target}"]')


def prop(page: Any, name: str) -> Any:
    """A field of the side panel by its property name (required ones say so)."""
    return page.locator(".side-panel").get_by_label(
        re.compile(rf"^{re.escape(name)}( \*)?( \(required\))?$"))


async def insert_data(page: Any, field: Any, reference: str) -> None:
    """Put the cursor at the end of ``field`` and insert ``reference`` from the dialog."""
    await field.click()
    await field.press("End")
    button = re.compile("^Insert published data")
    await field.locator("xpath=..").get_by_role("button", name=button).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name=re.compile(re.escape(reference))).click()
    await expect(dialog).to_have_count(0)


async def test_build_a_runbook_on_the_canvas_check_it_in_and_run_it(
    page: Any, console: Console
) -> None:
    await log_in(page)
    await page.goto("/runbooks?folder=%2FBuilt")
    await page.get_by_role("link", name="New runbook").click()
    await expect(page.get_by_role("heading", name="New runbook")).to_be_visible()
    await expect(page.locator(".canvas-empty")).to_be_visible()
    await page.get_by_label("Runbook name").fill("Greeter")

    # 1. Initialize Data with a parameter
    await add_from_palette(page, "initialize", "Initialize Data")
    await expect(page.locator('svg.canvas [data-activity="initialize_data"]')).to_be_visible()
    panel = page.locator(".activity-panel")
    await panel.get_by_role("button", name="Add an item to parameters").click()
    await prop(page, "name").last.fill("Name")

    # 2. Run Program, linked from it; its argument uses the parameter (picked, not typed)
    await add_from_palette(page, "run program", "Run Program")
    await expect(link_between(page, "initialize_data", "run_program")).to_have_count(1)
    await prop(page, "program").fill("echo")
    await page.get_by_role("button", name="Add an item to args").click()
    arg = prop(page, "args item 1")
    await arg.fill("Hello, ")
    await insert_data(page, arg, "{initialize_data.Name}")
    await expect(arg).to_have_value("Hello, {initialize_data.Name}")

    # 3. Compare Values on its output
    await add_from_palette(page, "compare", "Compare Values")
    value = prop(page, "value")
    await insert_data(page, value, "{run_program.Output}")
    await prop(page, "op").select_option("contains")
    await prop(page, "to").fill("Hello")

    # 4. A second Run Program on a condition link: only when the comparison held
    await add_from_palette(page, "run program", "Run Program")
    await prop(page, "program").fill("echo")
    await page.get_by_role("button", name="Add an item to args").click()
    await prop(page, "args item 1").fill("matched")
    link = link_between(page, "compare_values", "run_program_2")
    await link.click()
    form = page.locator(".link-panel")
    await expect(form.get_by_role("heading")).to_have_text("Link: compare_values → run_program_2")
    await form.get_by_label("When one of these conditions holds").check()
    await form.get_by_label("Published data", exact=True).select_option("Result")
    await form.get_by_label("Operator", exact=True).select_option("equals")
    await form.get_by_label("Value", exact=True).fill("true")
    await expect(link).to_have_attribute("aria-label", re.compile("Result equals true"))

    await expect(page.locator(".validation")).to_contain_text("Valid")
    await shot(page, "designer-canvas.png")

    # test the draft before checking it in: it runs in memory, down the condition link
    test = page.locator(".test-panel")
    await test.get_by_label("Parameter Name").fill("Tester")
    await test.get_by_role("button", name="Run test").click()
    await expect(page.locator(".test-status")).to_contain_text("Test finished: success")
    last = page.locator('svg.canvas [data-activity="run_program_2"]')
    await expect(last).to_have_class(re.compile(r"\bst-success\b"))
    await expect(last).to_contain_text("Output=matched")

    # check in: the runbook is created, the designer opens it
    await page.get_by_label("Check-in comment").fill("built on the canvas")
    await page.get_by_role("button", name="Check in").click()
    await expect(page.get_by_role("heading", name=re.compile("^Design: Greeter"))).to_be_visible()
    summary = await console.client.find_runbook("/Built/Greeter")
    assert summary is not None
    detail = await console.client.get_runbook(summary.id)
    doc = detail.document
    assert [a["id"] for a in doc["activities"]] == [
        "initialize_data", "run_program", "compare_values", "run_program_2"]
    assert all(a["position"] for a in doc["activities"])
    assert doc["links"][-1]["include"] == [{"data": "Result", "op": "equals", "value": "true"}]
    assert detail.versions[0].comment == "built on the canvas"

    # start it from its page: it succeeds, down the condition link
    await page.goto(f"/runbooks/{summary.id}")
    await page.get_by_role("button", name="Start", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Name").fill("World")
    await dialog.get_by_role("button", name="Start", exact=True).click()
    row = page.locator("tr[data-job-id]").first
    await expect(row.locator(".badge")).to_have_text("success", timeout=30_000)
    job = await console.client.get_job(await row.get_attribute("data-job-id"))
    instance = await console.client.get_instance(job.instance_id)
    ran = {r.activity: r for r in instance.activity_runs}
    assert ran["run_program"].published[0]["Output"] == "Hello, World"
    assert ran["run_program_2"].published[0]["Output"] == "matched"
    assert page.console_errors == []
