"""The live feed in the page: a banner while it is down, reconnection, resume after a seq."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Console, log_in, require_live_feed

pytestmark = pytest.mark.timeout(180)


class Feed:
    """Stands between the page and the gateway's websocket, to cut it and watch it."""

    def __init__(self) -> None:
        self.up = True
        self.routes: list[Any] = []
        self.sent: list[list[dict[str, Any]]] = []
        self.subscribed = asyncio.Event()

    async def handle(self, ws: Any) -> None:
        if not self.up:
            await ws.close(code=1013, reason="test: feed down")
            return
        sent: list[dict[str, Any]] = []
        self.sent.append(sent)
        self.routes.append(ws)
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            sent.append(json.loads(message))
            if "subscribe" in sent[-1]:
                self.subscribed.set()
            server.send(message)

        ws.on_message(from_page)

    async def cut(self) -> None:
        self.up = False
        for ws in self.routes:
            await ws.close(code=1012, reason="test: cut")
        self.routes.clear()


async def _finished(console: Console, job_id: str) -> None:
    for _ in range(400):
        if (await console.client.get_job(job_id)).status == "success":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


async def test_banner_reconnect_and_resume(page: Any, console: Console) -> None:
    await require_live_feed(console)
    feed = Feed()
    await page.route_web_socket(re.compile(r"/api/v1/live$"), feed.handle)
    await log_in(page)
    await page.goto("/jobs")
    await asyncio.wait_for(feed.subscribed.wait(), 20)
    banner = page.locator("#live-banner")
    await expect(banner).to_be_hidden()
    await page.evaluate("window.__sameDocument = true")

    first = await console.client.start_job("/Examples/Hello", {"Name": "one"})
    await expect(page.locator(f'tr[data-job-id="{first.id}"] .badge')).to_have_text("success")

    await feed.cut()
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("disconnected")
    second = await console.client.start_job("/Examples/Hello", {"Name": "two"})
    await _finished(console, second.id)

    feed.up = True
    await expect(banner).to_be_hidden(timeout=30_000)
    await expect(page.locator(f'tr[data-job-id="{second.id}"] .badge')).to_have_text("success")
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # The new connection subscribed again from the last sequence the page had seen.
    resumed = [m["subscribe"] for m in feed.sent[-1] if "subscribe" in m]
    assert resumed and resumed[0].get("all") is True
    assert isinstance(resumed[0].get("after"), int) and resumed[0]["after"] > 0
    assert page.console_errors == []
