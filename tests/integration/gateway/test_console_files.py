"""The console's files: public, typed, cached by version, under a strict CSP."""

from __future__ import annotations

import re

from orch.gateway.console import CSP, load_console
from tests.integration.gateway.conftest import Api


async def test_page_for_every_client_route(api: Api) -> None:
    for path in ("/", "/login", "/runbooks", "/runbooks/00000000-0000-4000-8000-000000000000",
                 "/jobs", "/jobs/x", "/instances/y", "/servers", "/events", "/approvals"):
        async with api.http.get(f"{api.url}{path}") as r:
            assert r.status == 200, path
            assert r.headers["Content-Type"] == "text/html; charset=utf-8"
            assert r.headers["Cache-Control"] == "no-cache"
            assert r.headers["Content-Security-Policy"] == CSP
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["X-Frame-Options"] == "DENY"
            body = await r.text()
            assert '<script type="module"' in body and "{{VERSION}}" not in body
    async with api.http.get(f"{api.url}/no-such-page") as r:
        assert r.status == 404


async def test_assets_by_version_are_immutable(api: Api) -> None:
    files = load_console()
    async with api.http.get(f"{api.url}/") as r:
        page = await r.text()
    scripts = re.findall(r'src="(/console/[^"]+)"', page)
    assert scripts == [f"/console/{files.version}/js/app.js", f"/console/{files.version}/icon.svg"]
    kinds = {
        "js/app.js": "text/javascript",
        "css/app.css": "text/css",
        "icon.svg": "image/svg+xml",
    }
    for name, kind in kinds.items():
        async with api.http.get(f"{api.url}/console/{files.version}/{name}") as r:
            assert r.status == 200
            assert r.content_type == kind
            assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            etag = r.headers["ETag"]
            assert await r.read() == files.assets[name].body
        async with api.http.get(f"{api.url}/console/{files.version}/{name}",
                                headers={"If-None-Match": etag}) as r:
            assert r.status == 304
    async with api.http.get(f"{api.url}/console/0ld/js/app.js") as r:
        assert r.status == 200 and r.headers["Cache-Control"] == "no-cache"
    for bad in ("js/nope.js", "../pyproject.toml", "%2e%2e/%2e%2e/schema.sql", "index.html"):
        async with api.http.get(f"{api.url}/console/{files.version}/{bad}") as r:
            assert r.status == 404, bad


async def test_assets_are_gzipped_when_accepted(api: Api) -> None:
    files = load_console()
    url = f"{api.url}/console/{files.version}/js/views/instance.js"
    async with api.http.get(url, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        assert await r.read() == files.assets["js/views/instance.js"].body  # decoded
    async with api.http.get(url, headers={"Accept-Encoding": "identity"},
                            auto_decompress=False) as r:
        assert "Content-Encoding" not in r.headers


async def test_the_page_needs_no_credentials_but_the_api_does(api: Api) -> None:
    async with api.http.get(f"{api.url}/runbooks") as r:
        assert r.status == 200
    async with api.http.get(f"{api.url}/api/v1/runbooks") as r:
        assert r.status == 401
    async with api.http.get(f"{api.url}/api/v1/me") as r:
        assert r.status == 401
