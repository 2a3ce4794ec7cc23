"""The designer's runbook settings, "How it runs", and a registered pack's type in the palette."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

from orch.db.packs import PackRecord, TypeRecord, register_pack
from tests.browser.conftest import Console, log_in
from tests.browser.test_designer_canvas import prop
from tests.browser.test_designer_edit import open_checked_out

pytestmark = pytest.mark.timeout(300)

ACME_INPUT = {
    "type": "object",
    "properties": {"host": {"type": "string", "description": "Where to send it."},
                   "count": {"type": "integer", "default": 3},
                   "mode": {"enum": ["fast", "slow"], "default": "fast"},
                   "verbose": {"type": "boolean", "default": False}},
    "required": ["host"],
    "additionalProperties": False,
}


async def test_settings_properties_and_a_registered_pack(page: Any, console: Console) -> None:
    async with console.pool.acquire() as conn, conn.transaction():
        await register_pack(conn, PackRecord(
            name="acme", version="1.0", distribution="orch-acme", types=[TypeRecord(
                name="ping", display_name="Ping a host", category="Network",
                description="Sends one ping. Only on the servers that have the pack.",
                input_schema=ACME_INPUT,
                output_schema={"type": "object", "properties": {"Reply": {"type": "string"}},
                               "required": ["Reply"], "additionalProperties": False})]),
            registered_by="test")  # fmt: skip
    await log_in(page)
    hello_id = await open_checked_out(page, console, "/Examples/Hello")

    # the registered type is in the palette, in its category, and its form comes from its schema
    group = page.locator('.palette-group[data-category="Network"]')
    entry = group.locator(".palette-item")
    await expect(entry).to_have_text(re.compile("Ping a host.*Sends one ping"))
    await page.locator('svg.canvas [data-activity="greet"]').click()
    await group.locator(".palette-item").click()
    await page.locator("#palette-add").click()
    await expect(page.locator(".activity-panel h2")).to_have_text("Activity: Ping a host")
    await expect(page.locator(".side-panel label", has_text="host")).to_contain_text("*")
    await expect(prop(page, "count")).to_have_attribute("placeholder", "3")
    count_hint = page.locator('.side-panel [data-property="count"] .hint')
    await expect(count_hint).to_contain_text("Default: 3")
    await expect(prop(page, "mode")).to_have_value("")  # "(default: fast)"
    await expect(prop(page, "verbose")).not_to_be_checked()
    await prop(page, "host").fill("db1")
    await prop(page, "mode").select_option("slow")
    await prop(page, "verbose").check()
    await prop(page, "count").fill("5")

    # how an activity runs: flatten, disabled
    await page.locator('svg.canvas [data-activity="greet"]').click()
    await page.get_by_label("Set flatten").check()
    await page.get_by_label("enabled").uncheck()
    await expect(page.locator('svg.canvas [data-activity="greet"]')).to_have_class(
        re.compile(r"\bdisabled\b"))

    # runbook settings: a parameter, returned data, properties
    await page.get_by_role("button", name="Runbook settings").click()
    settings = page.locator(".settings-panel")
    await settings.get_by_role("button", name="Add an item to parameters").click()
    await settings.get_by_label(re.compile(r"^name")).nth(1).fill("Times")
    await settings.get_by_label(re.compile(r"^type")).nth(1).select_option("integer")
    await settings.get_by_label(re.compile(r"^default")).nth(1).fill("2")
    await settings.get_by_role("button", name="Add an item to Returned data").click()
    await settings.get_by_label(re.compile(r"^name")).last.fill("Echo")
    await settings.get_by_label("job_timeout_seconds").fill("600")
    await settings.get_by_label("max_concurrent_jobs").fill("1")
    await settings.get_by_label("Set retry").check()
    await settings.get_by_label("max_retries").fill("2")
    await settings.get_by_label("Set logging").check()
    await settings.get_by_label("store_published_data").uncheck()

    await page.get_by_role("tab", name="JSON").click()
    doc = json.loads(await page.get_by_role("textbox", name="Document (JSON)").input_value())
    acts = {a["id"]: a for a in doc["activities"]}
    assert acts["ping"]["type"] == "ping"
    assert acts["ping"]["properties"] == {"host": "db1", "mode": "slow", "verbose": True,
                                          "count": 5}
    assert acts["greet"]["flatten"] == {} and acts["greet"]["enabled"] is False
    assert acts["start"]["properties"]["parameters"][1] == {"name": "Times", "type": "integer",
                                                           "default": "2"}
    assert doc["returns"][-1] == {"name": "Echo"}
    assert doc["job_timeout_seconds"] == 600 and doc["max_concurrent_jobs"] == 1
    assert doc["retry"] == {"max_retries": 2}
    assert doc["logging"] == {"store_published_data": False}
    await page.get_by_role("tab", name="Canvas").click()

    # the returned field must be set by someone: the checker says so on the runbook
    await expect(page.locator(".validation")).to_contain_text(re.compile("Valid|fault"))
    await page.get_by_label("Check-in comment").fill("settings")
    await page.get_by_role("button", name="Check in").click()
    toast = page.locator("#toast")
    await expect(toast).to_contain_text(re.compile("Checked in as version 2|Check-in refused"))
    if "refused" in (await toast.text_content() or ""):
        faults = await page.locator("ol.faults li").all_text_contents()
        raise AssertionError(f"check-in refused: {faults}")
    stored = (await console.client.get_runbook(hello_id)).document
    assert stored["retry"] == {"max_retries": 2, "backoff_seconds": 0, "backoff_factor": 1}
    assert page.console_errors == []
