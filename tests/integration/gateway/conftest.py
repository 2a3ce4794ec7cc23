"""A real gateway (``make_app``) on 127.0.0.1 over the per-test database.

``api`` gives the base URL, a raw aiohttp session (for malformed requests),
an ``orch.client.Client`` logged in as the admin, and helpers to make other
principals (an operator, expired/revoked tokens, a disabled user).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest_asyncio
from aiohttp import web

from orch.client import Client
from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app

ADMIN_TOKEN = "orch_test-admin-token"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

HELLO: dict[str, Any] = json.loads((EXAMPLES / "hello.json").read_text())


def document(name: str = "Hello", folder: str = "/Examples", **changes: Any) -> dict[str, Any]:
    """The hello example under another name/folder (fresh copy)."""
    doc = json.loads(json.dumps(HELLO))
    doc.update(name=name, folder=folder, **changes)
    return doc


@dataclass
class Api:
    url: str
    http: aiohttp.ClientSession
    client: Client
    pool: asyncpg.Pool

    def auth(self, token: str = ADMIN_TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = ADMIN_TOKEN,
        body: bytes | str | None = None,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """(status, decoded JSON body) of a raw request."""
        headers = self.auth(token) if token is not None else {}
        if json_body is not None:
            body = json.dumps(json_body)
        if body is not None:
            headers["Content-Type"] = content_type
        async with self.http.request(
            method, f"{self.url}{path}", data=body, headers=headers, params=params
        ) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else None)

    async def make_user(
        self,
        name: str,
        *,
        admin: bool = False,
        disabled: bool = False,
        expires_in: str | None = None,
        revoked: bool = False,
    ) -> str:
        """A user with one token (returned); optionally expired, revoked or disabled."""
        token = f"orch_{name}-{uuid.uuid4().hex}"
        user_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO users (id, name, disabled) VALUES ($1, $2, $3)",
                user_id, name, disabled,
            )
            if admin:
                await conn.execute(
                    "INSERT INTO group_members (group_id, user_id) "
                    "SELECT id, $1 FROM groups WHERE name = 'admins'",
                    user_id,
                )
            await conn.execute(
                "INSERT INTO tokens (id, user_id, name, token_hash, expires_at, revoked_at) "
                "VALUES ($1, $2, 'test', $3, now() + $4::text::interval, "
                "CASE WHEN $5 THEN now() END)",
                uuid.uuid4(), user_id, hashlib.sha256(token.encode()).hexdigest(),
                expires_in, revoked,
            )
        return token


@pytest_asyncio.fixture(loop_scope="function")
async def api(pool: asyncpg.Pool) -> AsyncIterator[Api]:
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="test-password")
    app = make_app(Settings(), pool)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http, Client(url, ADMIN_TOKEN) as client:
            yield Api(url=url, http=http, client=client, pool=pool)
    finally:
        await runner.cleanup()
