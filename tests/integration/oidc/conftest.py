"""A real OpenID provider (module-wide) and a real gateway registered with it (per test).

The gateway's port is bound first, so its callback URL can be registered with the
provider (dynamic client registration) before the app is built with the client's
id and secret — exactly what an admin does by hand with a company provider.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web

from orch.config import Settings
from orch.db.bootstrap import bootstrap_admin
from orch.gateway import make_app
from tests.integration.oidc.provider import (
    Provider,
    cookie_session,
    log_in_at_provider,
    run_provider,
    start,
)

ADMIN_TOKEN = "orch_oidc-admin-token"
CALLBACK = "/api/v1/session/oidc/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with run_provider() as p:
        yield p


@dataclass
class Gateway:
    url: str
    pool: asyncpg.Pool
    settings: Settings
    admin: aiohttp.ClientSession
    """Authenticated as the bootstrap admin (bearer token)."""
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def browser(self) -> aiohttp.ClientSession:
        """A fresh cookie jar: one person's browser."""
        http = cookie_session()
        self.sessions.append(http)
        return http

    async def admin_call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.admin.request(method, f"{self.url}{path}", json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def sign_in(self, username: str, http: aiohttp.ClientSession | None = None,
                      next_path: str = "/runbooks") -> aiohttp.ClientSession:
        """The whole flow for ``username``; asserts it ends signed in at ``next_path``."""
        http = http or self.browser()
        authorize = await start(http, self.url, next_path)
        callback = await log_in_at_provider(http, authorize, username)
        async with http.get(callback, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            assert resp.headers["Location"] == next_path
        return http


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def oidc_settings(provider: Provider, url: str, **changes: Any) -> Settings:
    client_id, secret = provider.register(f"{url}{CALLBACK}")
    values: dict[str, Any] = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": client_id,
        "oidc_client_secret": secret,
        "oidc_scopes": ("openid", "profile", "email", "groups"),
        "oidc_admin_groups": ("platform-admins",),
        "oidc_timeout_seconds": 2.0,
    }
    values.update(changes)
    settings = Settings(**values)
    settings.check()
    return settings


async def serve(pool: asyncpg.Pool, settings: Settings,
                sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(make_app(settings, pool), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


@pytest_asyncio.fixture(loop_scope="function")
async def gateway(pool: asyncpg.Pool, provider: Provider,
                  request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    """The gateway with OIDC on; ``@pytest.mark.oidc_settings(key=value)`` changes settings."""
    provider.faults()
    async with pool.acquire() as conn:
        await bootstrap_admin(conn, None, token=ADMIN_TOKEN, password="admin-password")
    sock = _bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    marker = request.node.get_closest_marker("oidc_settings")
    settings = oidc_settings(provider, url, **(marker.kwargs if marker else {}))
    runner = await serve(pool, settings, sock)
    gw = Gateway(url=url, pool=pool, settings=settings, admin=aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}))
    try:
        yield gw
    finally:
        provider.faults()
        for http in [gw.admin, *gw.sessions]:
            await http.close()
        await runner.cleanup()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "oidc_settings(**values): the gateway's OIDC settings")
