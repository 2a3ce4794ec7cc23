"""The visual designer on existing runbooks: stored positions, faults, undo/redo, keyboard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Console, example, log_in
from tests.browser.test_designer_canvas import link_between, prop, shot

pytestmark = pytest.mark.timeout(300)

IMPORTED: dict[str, Any] = {
    "format": "orch.runbook/1",
    "name": "Imported",
    "folder": "/SCO",
    "description": "As an SCO import leaves it: every box where the author put it.",
    "activities": [
        {"id": "initialize_data", "type": "initialize_data", "name": "Initialize Data",
         "properties": {"parameters": []}, "position": {"x": 40, "y": 300}},
        {"id": "run_net_script", "type": "run_program", "name": "Run .Net Script",
         "properties": {"program": "echo", "args": ["from SCO"]},
         "position": {"x": 400, "y": 60}},
        {"id": "junction", "type": "junction", "name": "Junction",
         "properties": {}, "position": {"x": 760, "y": 300}},
    ],
    "links": [{"from": "initialize_data", "to": "run_net_script"},
              {"from": "run_net_script", "to": "junction"}],
}


async def tab_to(page: Any, target: Any, most: int = 6) -> None:
    """Press Tab until ``target`` has the focus (at most ``most`` times)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError("Tab never reached the element")


def translate(text: str | None) -> tuple[float, float]:
    m = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", text or "")
    assert m, text
    return float(m[1]), float(m[2])


async def open_checked_out(page: Any, console: Console, path: str) -> str:
    runbook_id = console.runbooks.get(path) or (await console.client.find_runbook(path)).id
    await page.goto(f"/runbooks/{runbook_id}/design")
    await page.get_by_role("button", name="Check out").click()
    await expect(page.locator(".holder")).to_contain_text("You have it checked out")
    await expect(page.locator(".validation")).to_contain_text("Valid")
    return runbook_id


async def test_an_imported_document_keeps_its_positions_and_moves_by_dragging(
    page: Any, console: Console
) -> None:
    created = await console.client.check_in(IMPORTED)
    await log_in(page)
    # the runbook's page draws the graph where the author put the boxes
    await page.goto(f"/runbooks/{created.id}")
    graph = page.locator("svg.graph")
    xs = {}
    for act in IMPORTED["activities"]:
        xs[act["id"]] = translate(await graph.locator(
            f'[data-activity="{act["id"]}"]').get_attribute("transform"))
    assert xs["run_net_script"][1] < xs["initialize_data"][1]  # above it, as stored
    assert xs["junction"][0] - xs["initialize_data"][0] == 720
    assert xs["run_net_script"][1] - xs["junction"][1] == -240

    await open_checked_out(page, console, "/SCO/Imported")
    box = page.locator('svg.canvas [data-activity="run_net_script"]')
    assert translate(await box.get_attribute("transform")) == (400, 60)

    # drag it 100 units right and 40 down (at whatever zoom the canvas chose)
    zoom = int((await page.locator(".zoom-level").text_content()).rstrip("%")) / 100
    bounds = await box.bounding_box()
    x, y = bounds["x"] + 40, bounds["y"] + 20
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 50 * zoom, y + 20 * zoom, steps=5)
    await page.mouse.move(x + 100 * zoom, y + 40 * zoom, steps=5)
    await page.mouse.up()
    moved = translate(await box.get_attribute("transform"))
    assert abs(moved[0] - 500) <= 2 and abs(moved[1] - 100) <= 2, moved

    # the JSON tab shows the new position at once
    await page.get_by_role("tab", name="JSON").click()
    text = await page.get_by_role("textbox", name="Document (JSON)").input_value()
    stored = {a["id"]: a["position"] for a in json.loads(text)["activities"]}
    assert stored["initialize_data"] == {"x": 40, "y": 300}
    assert abs(stored["run_net_script"]["x"] - 500) <= 2
    await page.get_by_role("tab", name="Canvas").click()

    # pan and zoom change the view, not the document
    before = await page.locator("svg.canvas .viewport").get_attribute("transform")
    await page.get_by_role("button", name="Zoom in").click()
    await page.locator("svg.canvas").focus()
    await page.keyboard.press("ArrowLeft")
    assert await page.locator("svg.canvas .viewport").get_attribute("transform") != before

    # edit a property in the panel, check in: positions and the edit are stored
    await box.click()
    args = prop(page, "args item 1")
    await args.fill("still from SCO")
    await page.get_by_label("Check-in comment").fill("moved a box")
    await page.get_by_role("button", name="Check in").click()
    await expect(page.locator("#toast")).to_contain_text("Checked in as version 2")
    detail = await console.client.get_runbook(created.id)
    acts = {a["id"]: a for a in detail.document["activities"]}
    assert abs(acts["run_net_script"]["position"]["x"] - 500) <= 2
    assert acts["run_net_script"]["properties"]["args"] == ["still from SCO"]
    assert acts["junction"]["position"] == {"x": 760, "y": 300}
    assert page.console_errors == []


async def test_a_fault_shows_on_its_activity_and_link_and_blocks_check_in(
    page: Any, console: Console
) -> None:
    await log_in(page)
    hello_id = await open_checked_out(page, console, "/Examples/Hello")
    greet = page.locator('svg.canvas [data-activity="greet"]')
    await greet.click()
    await prop(page, "args item 1").fill("Hello, {nowhere.Name}!")  # no such activity

    await expect(greet).to_have_class(re.compile(r"\bhas-fault\b"))
    await expect(greet.locator(".fault-badge")).to_have_count(1)
    await expect(greet).to_have_attribute("aria-label", re.compile("Fault: .*nowhere"))
    for other in ("start", "done"):
        await expect(page.locator(f'svg.canvas [data-activity="{other}"]')).not_to_have_class(
            re.compile(r"\bhas-fault\b"))
    fault = page.locator("ol.faults li")
    await expect(fault).to_have_count(1)
    await expect(fault).to_contain_text("Activity greet")
    await expect(page.locator(".activity-panel .panel-faults")).to_contain_text("nowhere")
    await shot(page, "designer-fault.png")

    # a link condition on a field its source does not publish: the link is marked
    await prop(page, "args item 1").fill("Hello, {start.Name}!")
    link = link_between(page, "greet", "done")
    await link.click()
    form = page.locator(".link-panel")
    await form.get_by_label("When one of these conditions holds").check()
    await form.get_by_label("Published data", exact=True).select_option("ExitCode")
    await form.get_by_label("Value", exact=True).fill("0")
    await expect(page.locator(".validation")).to_contain_text("Valid")
    await page.get_by_role("tab", name="JSON").click()
    editor = page.get_by_role("textbox", name="Document (JSON)")
    await editor.fill((await editor.input_value()).replace('"data": "ExitCode"', '"data": "Exit"'))
    await page.get_by_role("tab", name="Canvas").click()
    await expect(link).to_have_class(re.compile(r"\bhas-fault\b"))
    await expect(page.locator("ol.faults li")).to_contain_text("Link greet → done")

    # check-in is refused while a fault is there; nothing is stored
    await page.get_by_label("Check-in comment").fill("broken")
    await page.get_by_role("button", name="Check in").click()
    await expect(page.locator("#toast")).to_contain_text("Check-in refused")
    assert (await console.client.get_runbook(hello_id)).current_version == 1

    # "Undo check-out" discards
    await page.get_by_role("button", name="Undo check-out").click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Discard changes").click()
    await expect(page.locator(".holder")).to_contain_text("Not checked out")
    await expect(link).not_to_have_class(re.compile(r"\bhas-fault\b"))
    assert (await console.client.get_runbook(hello_id)).checked_out_by is None
    assert page.console_errors == []


async def test_undo_and_redo_every_edit(page: Any, console: Console) -> None:
    await log_in(page)
    await open_checked_out(page, console, "/Examples/Hello")
    canvas = page.locator("svg.canvas")
    boxes = canvas.locator("[data-activity]")
    await expect(boxes).to_have_count(3)

    # three edits: add (linked from done), rename, delete greet (after a confirmation)
    await canvas.locator('[data-activity="done"]').click()
    await page.get_by_label("Search activities").fill("compare")
    await page.locator(".palette-item", has_text="Compare Values").click()
    await page.locator("#palette-add").click()
    await expect(boxes).to_have_count(4)
    await expect(link_between(page, "done", "compare_values")).to_have_count(1)
    await page.get_by_label("name", exact=True).fill("Check it")
    await expect(canvas.locator('[data-activity="compare_values"]')).to_contain_text("Check it")
    greet = canvas.locator('[data-activity="greet"]')
    await greet.focus()
    await page.keyboard.press("Delete")
    await page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    await expect(boxes).to_have_count(3)
    await expect(canvas.locator("[data-link]")).to_have_count(1)  # its two links went too

    await page.keyboard.press("Control+z")  # the delete
    await expect(boxes).to_have_count(4)
    await expect(canvas.locator("[data-link]")).to_have_count(3)
    await page.keyboard.press("Control+z")  # the name
    compare = canvas.locator('[data-activity="compare_values"]')
    await expect(compare).to_contain_text("Compare Values")
    await page.keyboard.press("Control+z")  # the add
    await expect(boxes).to_have_count(3)
    await expect(page.get_by_role("button", name="Undo", exact=True)).to_be_disabled()

    await page.keyboard.press("Control+y")
    await expect(boxes).to_have_count(4)
    await page.keyboard.press("Control+y")
    await expect(canvas.locator('[data-activity="compare_values"]')).to_contain_text("Check it")
    await page.get_by_role("button", name="Redo", exact=True).click()
    await expect(boxes).to_have_count(3)
    await expect(page.get_by_role("button", name="Redo", exact=True)).to_be_disabled()

    # the JSON tab is in step: an edit there shows on the canvas, and is undone the same way
    await page.get_by_role("tab", name="JSON").click()
    editor = page.get_by_role("textbox", name="Document (JSON)")
    assert '"greet"' not in await editor.input_value()
    doc = json.loads(await editor.input_value())
    doc["activities"][0]["name"] = "Typed in JSON"
    await editor.fill(json.dumps(doc, indent=2))
    await page.get_by_role("tab", name="Canvas").click()
    await expect(canvas.locator('[data-activity="start"]')).to_contain_text("Typed in JSON")
    await page.get_by_role("button", name="Undo", exact=True).click()
    await expect(canvas.locator('[data-activity="start"]')).not_to_contain_text("Typed in JSON")
    assert page.console_errors == []


async def test_keyboard_only_add_link_edit_check_in(page: Any, console: Console) -> None:
    """Every step with the keyboard: focus moves by Tab and the keys a user presses."""
    branching = example("branching")
    await log_in(page)
    hello_id = await open_checked_out(page, console, "/Examples/Hello")
    kb = page.keyboard
    canvas = page.locator("svg.canvas")

    # select "greet" on the canvas: Tab from the canvas reaches the boxes in order
    await canvas.focus()
    await tab_to(page, canvas.locator('[data-activity="greet"]'), most=2)
    await kb.press("Enter")
    await expect(page.locator(".activity-panel h2")).to_have_text("Activity: Build the greeting")

    # add from the palette: type in the search box, Tab to the entry, Enter
    await page.get_by_label("Search activities").focus()
    await kb.type("compare values")
    await tab_to(page, page.locator(".palette-item", has_text="Compare Values"))
    await kb.press("Enter")
    new_box = canvas.locator('[data-activity="compare_values"]')
    await expect(new_box).to_be_focused()
    await expect(link_between(page, "greet", "compare_values")).to_have_count(1)

    # Enter again goes to its properties; type, Tab to the next fields, Escape comes back
    await kb.press("Enter")
    await expect(prop(page, "value")).to_be_focused()
    await kb.type("{greet.Output}")
    await tab_to(page, prop(page, "op"))
    await kb.press("End")  # the last operator of the select: starts_with
    await tab_to(page, prop(page, "to"))
    await kb.type("Hello")
    await kb.press("Escape")
    await expect(new_box).to_be_focused()

    # move it with the arrow keys, then link it to "done" with "Link to…"
    before = await new_box.get_attribute("transform")
    await kb.press("Shift+ArrowDown")
    await expect(new_box).not_to_have_attribute("transform", before)
    await kb.press("Enter")
    target = page.get_by_label("Link to…")
    await tab_to(page, target, most=40)
    await kb.press("End")  # "done", the last of the other activities
    await expect(target).to_have_value("done")
    await tab_to(page, page.locator("#link-to"), most=1)
    await kb.press("Enter")
    await expect(link_between(page, "compare_values", "done")).to_have_count(1)
    await expect(page.locator(".link-panel h2")).to_have_text("Link: compare_values → done")

    # check in: the comment field, Enter submits
    await expect(page.locator(".validation")).to_contain_text("Valid")
    await page.get_by_label("Check-in comment").focus()
    await kb.type("added a check by keyboard")
    await kb.press("Enter")
    await expect(page.locator("#toast")).to_contain_text("Checked in as version 2")
    stored = (await console.client.get_runbook(hello_id)).document
    assert [a["id"] for a in stored["activities"]][-1] == "compare_values"
    assert stored["activities"][-1]["properties"] == {
        "value": "{greet.Output}", "op": "starts_with", "to": "Hello"}
    assert {"from": "compare_values", "to": "done"} in [
        {"from": link["from"], "to": link["to"]} for link in stored["links"]]
    assert branching["name"] == "Branching"  # the fixture's other runbooks are untouched
    assert page.console_errors == []
