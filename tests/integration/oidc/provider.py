"""The test OpenID provider (tests/oidc_provider/provider.js, the certified ``oidc-provider``
package on Node) as a subprocess on 127.0.0.1, and the steps a person takes through it.

``.ci/run`` installs it with ``npm ci``; without Node or its packages the tests fail on
CI and are skipped elsewhere, like the browser tests without chromium.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import pytest

PROVIDER_DIR = Path(__file__).resolve().parents[2] / "oidc_provider"
USERS = {u["username"]: u for u in json.loads((PROVIDER_DIR / "users.json").read_text())}
START_TIMEOUT = 30.0


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen[bytes]

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.issuer}{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def register(self, redirect_uri: str) -> tuple[str, str]:
        """A new confidential client (RFC 7591 dynamic registration): (id, secret)."""
        answer = self._post("/reg", {"redirect_uris": [redirect_uri],
                                     "grant_types": ["authorization_code"],
                                     "response_types": ["code"],
                                     "token_endpoint_auth_method": "client_secret_basic"})
        return answer["client_id"], answer["client_secret"]

    def set_groups(self, username: str, groups: list[str]) -> None:
        """Change a user's groups at the provider (as its admin would)."""
        self._post("/__test/groups", {"username": username, "groups": groups})

    def faults(self, *, tamper_id_token: bool = False, hang: tuple[str, ...] = ()) -> None:
        self._post("/__test/faults", {"tamper_id_token": tamper_id_token, "hang": list(hang)})


@contextmanager
def run_provider() -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None:
        _unavailable("no node on PATH (the OIDC tests run oidc-provider on Node)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        _unavailable(f"oidc-provider is not installed: run 'npm ci' in {PROVIDER_DIR}")
    process = subprocess.Popen([node, "provider.js"], cwd=PROVIDER_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise RuntimeError("the OpenID provider did not start in time")
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"the OpenID provider exited ({process.wait()})")
            line += chunk
        sel.close()
        ready = json.loads(line)
        yield Provider(issuer=ready["issuer"], process=process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cookie_session() -> aiohttp.ClientSession:
    """A client that keeps cookies of IP-address hosts (both servers are on 127.0.0.1)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _location(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, str]:
    method = kwargs.pop("method", "GET")
    async with http.request(method, url, allow_redirects=False, **kwargs) as resp:
        await resp.read()
        return resp.status, urljoin(url, resp.headers.get("Location", ""))


async def start(http: aiohttp.ClientSession, gateway: str, next_path: str = "/runbooks") -> str:
    """``GET …/oidc/start``: the provider's authorization URL it redirects to."""
    status, location = await _location(
        http, f"{gateway}/api/v1/session/oidc/start", params={"next": next_path})
    assert status == 302, status
    return location


async def log_in_at_provider(http: aiohttp.ClientSession, authorize_url: str,
                             username: str) -> str:
    """What a person does at the provider: open the authorization URL, fill the form.
    Returns the callback URL (with ``code`` and ``state``) the provider redirects to."""
    status, interaction = await _location(http, authorize_url)
    assert status in (302, 303), status
    async with http.get(interaction) as resp:
        assert resp.status == 200, await resp.text()
        assert 'name="username"' in await resp.text()
    status, resume = await _location(
        http, f"{interaction}/login", method="POST",
        data={"username": username, "password": USERS[username]["password"]})
    assert status == 303, status
    url = resume
    for _ in range(5):  # resume → (consent implied) → the client's redirect_uri
        status, url = await _location(http, url)
        if "/api/v1/session/oidc/callback" in url:
            return url
    raise AssertionError(f"the provider never redirected back (last: {url})")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
