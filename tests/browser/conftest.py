"""The console in a real browser: Debian's chromium driven by Playwright.

Each test gets a real gateway (``make_app``) and a real runbook server
(``RunbookServer``) on 127.0.0.1 over its own database, the admin with a
known password, a few runbooks checked in, and a fresh headless chromium
page. Playwright never downloads a browser here: it launches
``/usr/bin/chromium`` (``.ci/run`` installs it with apt). A failing test
leaves a screenshot of its page in ``tmp/artifacts/`` (not committed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from orch.client import Client
from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from tests.integration.helpers import fast_settings, running_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ARTIFACTS = Path(os.environ.get("ORCH_TEST_ARTIFACTS", ROOT / "tmp" / "artifacts"))
CHROMIUM = os.environ.get("ORCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_TOKEN = "orch_browser-admin-token"
ADMIN_PASSWORD = "console-password"
TIMEOUT_MS = 20_000

expect.set_options(timeout=TIMEOUT_MS)


def _require_chromium() -> None:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        message = f"no chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


SLOW_HELLO: dict[str, Any] = {
    "format": "orch.runbook/1",
    "name": "Slow hello",
    "folder": "/Console",
    "description": "Waits a moment, then greets: long enough to watch it run.",
    "returns": [{"name": "Greeting", "type": "string"}],
    "activities": [
        {"id": "start", "type": "initialize_data",
         "properties": {"parameters": [{"name": "Name", "type": "string",
                                        "description": "Who to greet"}]}},
        {"id": "pause", "type": "wait", "name": "Take a breath",
         "properties": {"seconds": 2}},
        {"id": "greet", "type": "run_program", "name": "Build the greeting",
         "properties": {"program": "echo", "args": ["Hello, {start.Name}!"]}},
        {"id": "done", "type": "return_data",
         "properties": {"data": {"Greeting": "{greet.Output}"}}},
    ],
    "links": [{"from": "start", "to": "pause"}, {"from": "pause", "to": "greet"},
              {"from": "greet", "to": "done"}],
}

SLEEPER: dict[str, Any] = {
    "format": "orch.runbook/1",
    "name": "Sleeper",
    "folder": "/Console",
    "description": "Waits ten minutes: a job to stop.",
    "activities": [
        {"id": "start", "type": "initialize_data", "properties": {"parameters": []}},
        {"id": "nap", "type": "wait", "name": "Long nap", "properties": {"seconds": 600}},
    ],
    "links": [{"from": "start", "to": "nap"}],
}

COUNTER: dict[str, Any] = {
    "format": "orch.runbook/1",
    "name": "Counter",
    "folder": "/Console/Typed",
    "description": "Typed parameters: an integer, a boolean with a default, a date.",
    "activities": [
        {"id": "start", "type": "initialize_data",
         "properties": {"parameters": [
             {"name": "Count", "type": "integer", "description": "How many"},
             {"name": "Loud", "type": "boolean", "default": False},
             {"name": "When", "type": "datetime", "default": "2024-01-01T00:00:00Z"},
         ]}},
        {"id": "say", "type": "run_program",
         "properties": {"program": "echo", "args": ["{start.Count} {start.Loud}"]}},
    ],
    "links": [{"from": "start", "to": "say"}],
}

APPROVAL: dict[str, Any] = {
    "format": "orch.runbook/1",
    "name": "Deploy with approval",
    "folder": "/Console",
    "description": "Asks a person before it goes on.",
    "activities": [
        {"id": "start", "type": "initialize_data", "properties": {"parameters": []}},
        {"id": "ask", "type": "wait_for_approval", "name": "Ask the on-call",
         "properties": {"message": "Deploy to production?", "timeout_seconds": 600}},
        {"id": "deploy", "type": "run_program", "properties": {"program": "true", "args": []}},
    ],
    "links": [{"from": "start", "to": "ask"},
              {"from": "ask", "to": "deploy",
               "include": [{"data": "Decision", "op": "equals", "value": "approved"}]}],
}

RUNBOOKS = [example("hello"), example("branching"), example("child"), example("parent"),
            SLOW_HELLO, SLEEPER, COUNTER, APPROVAL]


@dataclass
class Console:
    url: str
    client: Client
    pool: asyncpg.Pool
    runbooks: dict[str, str]
    """Path → runbook id."""


@pytest_asyncio.fixture(loop_scope="function")
async def console(dsn: str, pool: asyncpg.Pool) -> AsyncIterator[Console]:
    _require_chromium()
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password=ADMIN_PASSWORD)
    settings = fast_settings(server_name="rb-console")
    runner = web.AppRunner(make_app(settings, pool), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with running_server(dsn, settings), Client(url, ADMIN_TOKEN) as client:
            ids = {}
            for doc in RUNBOOKS:
                created = await client.check_in(doc)
                ids[created.path] = created.id
            yield Console(url=url, client=client, pool=pool, runbooks=ids)
    finally:
        await runner.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest_asyncio.fixture(loop_scope="function")
async def browser() -> AsyncIterator[Any]:
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest_asyncio.fixture(loop_scope="function")
async def page(
    browser: Any, console: Console, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A page at 1280×800 on the console's origin; a screenshot is kept if the test fails."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800},
                                        base_url=console.url)
    context.set_default_timeout(TIMEOUT_MS)
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            try:
                await pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception as exc:  # the page may be gone; the test's own error matters
                print(f"no screenshot: {exc}")
        await context.close()


async def require_live_feed(console: Console) -> None:
    """Skip when this gateway has no ``/api/v1/live`` (the console then polls instead)."""
    async with aiohttp.ClientSession() as http, http.get(
        f"{console.url}/api/v1/live", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as r:
        if r.status == 404:
            pytest.skip("this gateway serves no live feed (/api/v1/live)")


async def log_in(page: Any, name: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    await page.goto("/")
    await page.get_by_label("User name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("heading", name="Runbooks", exact=True).wait_for()
