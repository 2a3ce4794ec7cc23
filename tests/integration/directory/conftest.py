"""A real slapd (tests/integration/directory/slapd.py) and real gateways that sign in with it.

``directory`` is one seeded slapd for the whole session (tests must not change it);
``own_directory`` is a fresh one for a test that edits, stops or restarts it.
``ldap_gateway(server, **settings)`` starts a gateway (``make_app``) on 127.0.0.1
over the test's database, configured for that directory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web

from orch.client import Client
from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from tests.integration.directory.slapd import Slapd, remove, start_slapd
from tests.integration.gateway.conftest import ADMIN_TOKEN, document
from tests.integration.live.conftest import Socket

__all__ = ["ADMIN_TOKEN", "DirGateway", "Session", "document"]


@pytest.fixture(scope="session")
def directory() -> Iterator[Slapd]:
    server = start_slapd()
    try:
        yield server
    finally:
        remove(server)


@pytest.fixture
def own_directory() -> Iterator[Slapd]:
    server = start_slapd()
    try:
        yield server
    finally:
        remove(server)


@dataclass
class Session:
    """A console session: the cookie jar and the CSRF token of the log-in answer."""

    http: aiohttp.ClientSession
    csrf: str
    me: dict[str, Any]


@dataclass
class DirGateway:
    url: str
    app: web.Application
    pool: asyncpg.Pool
    http: aiohttp.ClientSession
    client: Client
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    async def login(self, name: str, password: str) -> tuple[int, Any, Session | None]:
        """(status, body, session): a log-in through POST /api/v1/session."""
        jar = aiohttp.CookieJar(unsafe=True)
        http = aiohttp.ClientSession(cookie_jar=jar)
        self.sessions.append(http)
        async with http.post(f"{self.url}/api/v1/session",
                             json={"name": name, "password": password}) as r:
            body = await r.json()
            if r.status != 200:
                return r.status, body, None
        return 200, body, Session(http=http, csrf=body["csrf_token"], me=body)

    async def request(self, method: str, path: str, *, token: str | None = ADMIN_TOKEN,
                      session: Session | None = None, json_body: Any = None
                      ) -> tuple[int, Any]:
        headers: dict[str, str] = {}
        http = self.http
        if session is not None:
            http = session.http
            headers["X-CSRF-Token"] = session.csrf
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if json_body is None else json.dumps(json_body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with http.request(method, f"{self.url}{path}", data=data, headers=headers) as r:
            text = await r.text()
            return r.status, (json.loads(text) if text else None)

    async def token_of(self, session: Session) -> str:
        """An API token the signed-in user makes for itself."""
        status, body = await self.request("POST", "/api/v1/tokens", session=session,
                                          json_body={"name": "cli"})
        assert status == 201, body
        return str(body["token"])

    async def grant(self, principal: str, target: str, *rights: str) -> tuple[int, Any]:
        return await self.request("POST", "/api/v1/grants", json_body={
            "principal": principal, "target": target, "rights": list(rights) or ["view"]})

    async def socket(self, token: str) -> Socket:
        ws = await self.http.ws_connect(f"{self.url}/api/v1/live",
                                        headers={"Authorization": f"Bearer {token}"})
        return Socket(ws)

    async def move_clock(self, seconds: float) -> None:
        """orch_now() ``seconds`` later than now (membership ages are read with it)."""
        async with self.pool.acquire() as conn:
            await conn.execute("DELETE FROM test_clock")
            await conn.execute("INSERT INTO test_clock (now) VALUES "
                               "(now() + make_interval(secs => $1::float8))", seconds)

    async def audit(self, action: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT actor, target, data FROM audit WHERE action = $1 ORDER BY id", action)
        return [dict(r) for r in rows]


@pytest_asyncio.fixture(loop_scope="function")
async def ldap_gateway(
    pool: asyncpg.Pool,
) -> AsyncIterator[Callable[..., Awaitable[DirGateway]]]:
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="test-password")
    runners: list[web.AppRunner] = []
    gateways: list[DirGateway] = []

    async def start(server: Slapd, **settings: Any) -> DirGateway:
        app = make_app(server.settings(**settings), pool)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        gw = DirGateway(url=url, app=app, pool=pool, http=aiohttp.ClientSession(),
                        client=Client(url, ADMIN_TOKEN))
        gateways.append(gw)
        return gw

    try:
        yield start
    finally:
        for gw in gateways:
            for http in gw.sessions:
                await http.close()
            await gw.http.close()
            await gw.client.close()
        for runner in runners:
            await runner.cleanup()
