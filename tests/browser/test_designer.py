"""The designer page in chromium: check out, edit with live validation, check in, history, diff."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import ROOT, Console, log_in

pytestmark = pytest.mark.timeout(240)

SHOTS = os.environ.get("ORCH_SCREENSHOTS")


def _line_of(text: str, needle: str) -> tuple[int, int]:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in the editor text")


async def test_design_check_out_edit_validate_check_in_diff_undo_restore(
    page: Any, console: Console
) -> None:
    hello_id = console.runbooks["/Examples/Hello"]
    await log_in(page)
    await page.goto(f"/runbooks/{hello_id}")
    await page.get_by_role("link", name="Design", exact=True).click()
    await expect(page.get_by_role("heading", name=re.compile("^Design: Hello"))).to_be_visible()
    await expect(page.locator(".holder")).to_contain_text("Not checked out")
    await page.get_by_role("tab", name="JSON").click()  # the JSON view is the second tab
    editor = page.get_by_role("textbox", name="Document (JSON)")
    await expect(editor).to_have_attribute("readonly", "")

    # check out: others see who holds it
    await page.get_by_role("button", name="Check out").click()
    await expect(page.locator(".holder")).to_contain_text("You have it checked out")
    await expect(page.get_by_role("status").filter(has_text="Valid")).to_be_visible()
    held = await console.client.get_runbook(hello_id)
    assert held.checked_out_by == "admin"

    # an error as they type: the message names its line and column
    doc = json.loads(await editor.input_value())
    doc["activities"][1]["type"] = "run_programm"
    broken = json.dumps(doc, indent=2, ensure_ascii=False)
    await editor.fill(broken)
    line, column = _line_of(broken, '"type": "run_programm"')
    fault = page.locator("ol.faults li")
    await expect(fault).to_have_count(1)
    await expect(fault).to_contain_text(f"Line {line}, column {column}")
    await expect(fault).to_contain_text("run_programm")
    await expect(page.locator(".validation")).to_contain_text("1 fault")
    await expect(fault.get_by_role("button", name="Activity greet")).to_be_visible()
    await fault.get_by_role("button", name=re.compile("^Line")).click()
    caret = await editor.evaluate("e => e.value.slice(0, e.selectionStart).split('\\n').length")
    assert caret == line

    # malformed JSON: a fault where the syntax breaks
    await editor.fill(broken.replace('"Hello",', '"Hello"', 1))
    name_line, _ = _line_of(broken, '"name": "Hello"')
    await expect(fault).to_contain_text(f"Line {name_line + 1}, column 3")
    await expect(fault).to_contain_text("not valid JSON")

    # fix it, add an activity: valid again, and the graph shows the new box
    doc["activities"][1]["type"] = "run_program"
    doc["activities"].append({"id": "shout", "type": "compare_values",
                              "properties": {"value": "{greet.Output}", "op": "contains",
                                             "to": "Hello"}})
    doc["links"].append({"from": "greet", "to": "shout"})
    fixed = json.dumps(doc, indent=2, ensure_ascii=False)
    await editor.fill(fixed)
    await expect(page.locator(".validation")).to_contain_text("Valid")
    await expect(page.locator("ol.faults li")).to_have_count(0)
    await page.get_by_role("tab", name="Canvas").click()
    await expect(page.locator('svg.canvas [data-activity="shout"]')).to_be_visible()
    await page.get_by_role("tab", name="JSON").click()

    if SHOTS:
        await editor.fill(fixed.replace('"contains"', '"contain"'))
        await expect(page.locator(".validation")).to_contain_text("1 fault")
        await page.wait_for_timeout(300)
        out = ROOT / SHOTS if not os.path.isabs(SHOTS) else SHOTS
        await page.screenshot(path=str(out / "designer.png"), full_page=False)
        await editor.fill(fixed)
        await expect(page.locator(".validation")).to_contain_text("Valid")

    # check in with a comment: version 2 appears in the history, the check-out is released
    await page.get_by_label("Check-in comment").fill("check the greeting")
    await page.get_by_role("button", name="Check in").click()
    await expect(page.locator("#toast")).to_contain_text("Checked in as version 2")
    row = page.locator('table.history tr[data-version="2"]')
    await expect(row).to_contain_text("check the greeting")
    await expect(row).to_contain_text("current")
    await expect(page.locator(".holder")).to_contain_text("Not checked out")
    stored = await console.client.get_runbook(hello_id)
    assert stored.current_version == 2 and stored.checked_out_by is None

    # the diff between two versions: the added activity and link, not text lines
    await page.get_by_label("From").select_option("1")
    await page.get_by_label("to", exact=True).select_option("2")
    await page.get_by_role("button", name="Show changes").click()
    diff = page.locator(".diff")
    await expect(diff).to_contain_text("Changes from v1 to v2")
    await expect(diff).to_contain_text("Activities added (1)")
    await expect(diff.locator("li.added").first).to_contain_text("shout")
    await expect(diff).to_contain_text("greet → shout")

    # check out again, change something, undo: the change is discarded
    await page.get_by_role("button", name="Check out").click()
    await expect(page.locator(".holder")).to_contain_text("You have it checked out")
    await editor.fill(fixed.replace("Greets someone", "Waves at someone"))
    await page.get_by_role("button", name="Undo check-out").click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Discard changes").click()
    await expect(page.locator(".holder")).to_contain_text("Not checked out")
    await expect(editor).not_to_have_value(re.compile("Waves at someone"))
    await expect(editor).to_have_value(re.compile("shout"))
    assert (await console.client.get_runbook(hello_id)).checked_out_by is None

    # restore version 1 as version 3
    await page.locator('table.history tr[data-version="1"]').get_by_role(
        "button", name="Restore").click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Restore").click()
    row3 = page.locator('table.history tr[data-version="3"]')
    await expect(row3).to_contain_text("restored version 1")
    await expect(editor).not_to_have_value(re.compile("shout"))
    restored = await console.client.get_runbook(hello_id)
    assert restored.current_version == 3
    assert [a["id"] for a in restored.document["activities"]] == ["start", "greet", "done"]
    assert page.console_errors == []


async def test_someone_elses_check_out_is_shown_and_read_only(page: Any, console: Console) -> None:
    branching_id = console.runbooks["/Examples/Branching"]
    async with console.pool.acquire() as conn:
        bob = await conn.fetchval(
            "INSERT INTO users (id, name) VALUES (gen_random_uuid(), 'bob') RETURNING id")
        await conn.execute(
            "UPDATE runbooks SET checked_out_by = $1, checked_out_at = now() WHERE id = $2",
            bob, branching_id)
    await log_in(page)
    await page.goto(f"/runbooks/{branching_id}/design")
    await expect(page.locator(".holder")).to_contain_text("Checked out by bob since")
    await page.get_by_role("tab", name="JSON").click()
    await expect(page.get_by_role("textbox", name="Document (JSON)")).to_have_attribute(
        "readonly", "")
    await expect(page.get_by_role("button", name="Check out")).to_have_count(0)
    await expect(page.get_by_role("button", name="Check in")).to_be_hidden()
    assert page.console_errors == []
