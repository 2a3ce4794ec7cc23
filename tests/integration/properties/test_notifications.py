"""Notifications: runs longer than N s and fails to run reach the events table (the live
feed's source), an SMTP server (aiosmtpd) and a signed webhook on loopback, each once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import uuid
from collections.abc import AsyncIterator
from email import message_from_bytes
from typing import Any

import asyncpg
import msgspec
import pytest_asyncio
from aiohttp import web
from aiosmtpd.controller import Controller

from tests.integration.helpers import (
    check_in,
    compare,
    eventually,
    fast_settings,
    runbook_doc,
    running_server,
    start,
    wait,
)

SECRET = "s3cret"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest_asyncio.fixture(loop_scope="function")
async def smtp() -> AsyncIterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free loopback port (the controller checks it connects)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield inbox, port
    finally:
        await asyncio.to_thread(controller.stop)


class _Hook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_first = 1  # the first POST gets a 503: delivery is retried
        self.bad_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Orch-Signature", ""), expected):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.fail_first:
            self.fail_first -= 1
            return web.Response(status=503)
        self.bodies.append(msgspec.json.decode(body))
        return web.Response(status=204)


@pytest_asyncio.fixture(loop_scope="function")
async def hook() -> AsyncIterator[tuple[_Hook, str]]:
    receiver = _Hook()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_long_runs_and_failures_to_run_are_notified_once_everywhere(
    dsn: str, pool: asyncpg.Pool, smtp: tuple[_Inbox, int], hook: tuple[_Hook, str]
) -> None:
    inbox, smtp_port = smtp
    receiver, url = hook
    async with pool.acquire() as conn:
        slow = await check_in(conn, {**runbook_doc("Slow", [start(), wait("w", 60)]),
                                     "notifications": {"runs_longer_than_seconds": 0.3}})
        stuck = await check_in(conn, {**runbook_doc("Stuck", [start(), compare("a")]),
                                      "notifications": {"on_failure_to_run": True,
                                                        "failure_to_run_seconds": 0.3}})
        # Stuck can run only on a server that does not exist
        await conn.execute("INSERT INTO runbook_servers (runbook_id, position, server_name)"
                           " VALUES ($1, 0, 'elsewhere')", uuid.UUID(stuck.id))
    settings = fast_settings(
        poll_seconds=0.1, notify_smtp_host="127.0.0.1", notify_smtp_port=smtp_port,
        notify_smtp_to=("ops@example.test",), notify_webhook_url=url,
        notify_webhook_secret=SECRET, notify_retry_seconds=0.1)
    # two servers: each notification is still raised and delivered once
    async with running_server(dsn, settings), \
            running_server(dsn, settings.replace(server_name="s2")):
        async with pool.acquire() as conn:
            from tests.integration.helpers import start_job

            slow_job = await start_job(conn, slow)
            stuck_job = await start_job(conn, stuck)

        async def delivered() -> bool:
            async with pool.acquire() as conn:
                n = await conn.fetchval(
                    "SELECT count(*) FROM notifications WHERE delivered_at IS NOT NULL")
            return n == 2 and len(inbox.messages) >= 2 and len(receiver.bodies) >= 2

        await eventually(delivered, timeout=30)
        await asyncio.sleep(0.5)  # a few more rounds: nothing is raised or sent again
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT status, job_id::text AS job_id, data FROM events"
            " WHERE kind = 'notification' ORDER BY seq")
        rows = await conn.fetch("SELECT kind, attempts FROM notifications ORDER BY id")
    assert sorted((e["status"], e["job_id"]) for e in events) == sorted(
        [("runs_longer", slow_job.id), ("failed_to_run", stuck_job.id)])
    assert "could not run" in next(e["data"]["message"] for e in events
                                   if e["status"] == "failed_to_run")
    assert len(rows) == 2
    assert receiver.bad_signatures == 0
    kinds = sorted(b["kind"] for b in receiver.bodies)
    # the webhook's first answer was a 503: that notification went again, once
    assert kinds == ["failed_to_run", "runs_longer"]
    assert max(r["attempts"] for r in rows) == 2
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert len(subjects) in (2, 3)  # a retried notification may mail twice (both channels retry)
    assert any("runs longer: /Tests/Slow" in s for s in subjects)
    assert any("failed to run: /Tests/Stuck" in s for s in subjects)
    assert all(m["To"] == "ops@example.test" for m in inbox.messages)
