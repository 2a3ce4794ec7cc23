"""The designer's Test on the canvas, and the mouse's ways: drag from the palette, drag a link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Console, log_in
from tests.browser.test_designer_canvas import link_between, shot
from tests.browser.test_designer_edit import open_checked_out

pytestmark = pytest.mark.timeout(300)


async def test_the_tester_runs_the_draft_on_the_canvas_with_break_points_and_steps(
    page: Any, console: Console
) -> None:
    await log_in(page)
    await open_checked_out(page, console, "/Examples/Hello")
    canvas = page.locator("svg.canvas")
    test = page.locator(".test-panel")
    bar = page.locator(".test-bar")  # status and commands, above the canvas
    await test.get_by_label("Parameter Name").fill("Designer")
    await test.get_by_label("Build the greeting (greet)").check()  # a break point
    await test.get_by_role("button", name="Run test").click()

    greet = canvas.locator('[data-activity="greet"]')
    await expect(bar.locator(".test-status")).to_contain_text("Paused before greet (break point)")
    await expect(greet).to_have_class(re.compile(r"\bst-paused\b"))
    await expect(greet).to_contain_text("paused here")
    start = canvas.locator('[data-activity="start"]')
    await expect(start).to_have_class(re.compile(r"\bst-success\b"))
    await expect(start).to_contain_text("Name=Designer")

    await bar.get_by_role("button", name="Step", exact=True).click()  # run greet, pause again
    await expect(bar.locator(".test-status")).to_contain_text("Paused before done (step)")
    await expect(greet).to_have_class(re.compile(r"\bst-success\b"))
    await expect(greet).to_contain_text("Output=Hello, Designer!")
    await shot(page, "designer-test.png")

    await bar.get_by_role("button", name="Continue").click()
    await expect(bar.locator(".test-status")).to_contain_text("Test finished: success")
    done = canvas.locator('[data-activity="done"]')
    await expect(done).to_have_class(re.compile(r"\bst-success\b"))
    await expect(test.locator("table.kv")).to_contain_text("Hello, Designer!")  # returned data
    row = test.locator('table.test-data tr[data-activity="greet"]')
    await expect(row).to_contain_text("Output=Hello, Designer!")

    # the draft was tested, not run: no job, no new version
    async with console.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0

    # skip and stop: a new run paused before greet, skipped; then one stopped
    await test.get_by_role("button", name="Run test").click()
    await expect(bar.locator(".test-status")).to_contain_text("Paused before greet")
    await bar.get_by_role("button", name="Skip").click()
    await expect(bar.locator(".test-status")).to_contain_text("Test finished")
    await expect(greet).to_have_class(re.compile(r"\bst-skipped\b"))
    await test.get_by_label("Step through (pause before every activity)").check()
    await test.get_by_role("button", name="Run test").click()
    await expect(bar.locator(".test-status")).to_contain_text("Paused before start (step)")
    await bar.get_by_role("button", name="Stop test").click()
    await expect(bar.locator(".test-status")).to_contain_text("Test finished: stopped")
    await test.get_by_role("button", name="Clear results").click()
    await expect(canvas.locator(".st-success, .st-skipped")).to_have_count(0)

    # a variable the draft uses gets a value for the test (the database's are never read)
    await test.get_by_label("Step through (pause before every activity)").uncheck()
    await test.get_by_label("Build the greeting (greet)").uncheck()
    await page.get_by_role("tab", name="JSON").click()
    editor = page.get_by_role("textbox", name="Document (JSON)")
    await editor.fill((await editor.input_value()).replace("Hello, {start.Name}",
                                                           "{variable:Salute}, {start.Name}"))
    await page.get_by_role("tab", name="Canvas").click()
    await test.get_by_label("Variable Salute").fill("Hi")
    await test.get_by_role("button", name="Run test").click()
    await expect(bar.locator(".test-status")).to_contain_text("Test finished: success")
    await expect(greet).to_contain_text("Output=Hi, Designer!")

    # a draft the tester cannot run says why, next to the button
    await page.get_by_role("tab", name="JSON").click()
    await editor.fill((await editor.input_value()).replace("{start.Name}", "{start.Nom}"))
    await page.get_by_role("tab", name="Canvas").click()
    await test.get_by_role("button", name="Run test").click()
    await expect(test.locator(".panel-faults")).to_contain_text("Nom")
    assert page.console_errors == []


async def test_drag_from_the_palette_and_draw_a_link_with_the_mouse(
    page: Any, console: Console
) -> None:
    await log_in(page)
    await open_checked_out(page, console, "/Examples/Hello")
    canvas = page.locator("svg.canvas")
    await page.get_by_label("Search activities").fill("compare")
    entry = page.locator(".palette-item", has_text="Compare Values")
    wrap = page.locator(".canvas-wrap")
    box = await wrap.bounding_box()
    await entry.drag_to(wrap, target_position={"x": box["width"] - 120, "y": box["height"] - 60})
    added = canvas.locator('[data-activity="compare_values"]')
    await expect(added).to_be_visible()
    await expect(canvas.locator("[data-link]")).to_have_count(2)  # dropped: not linked

    # drag from done's output handle onto the new box
    handle = canvas.locator('[data-activity="done"] .handle')
    start = await handle.bounding_box()
    end = await added.bounding_box()
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(end["x"] + 30, end["y"] + 20, steps=8)
    await page.mouse.up()
    await expect(link_between(page, "done", "compare_values")).to_have_count(1)
    await expect(page.locator(".link-panel h2")).to_have_text("Link: done → compare_values")
    assert page.console_errors == []
