"""The Orchestration console: static files served by the gateway, no build step.

Every file of ``orch/console`` is read once when the app is built and served
from memory (so no request can name a path outside it), with its content
type, ``nosniff``, and gzip when the browser accepts it. Assets live under
``/console/<version>/…`` where the version is a hash of all the files: they
are cached for a year as immutable, and a new release changes every URL. The
page itself (``/`` and each client-side route, which all answer the same
``index.html``) is revalidated on every load. Every answer carries a strict
Content-Security-Policy: scripts, styles and connections from this origin
only, no inline script, no frames.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

__all__ = ["CLIENT_ROUTES", "CSP", "ConsoleFiles", "add_console_routes", "load_console"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = frozenset({".html", ".js", ".css", ".svg", ".json", ".txt"})
ASSET_PREFIX = "/console"
VERSION_MARK = "{{VERSION}}"
"""Written in index.html where asset URLs need the version (``/console/{{VERSION}}/app.js``)."""

CLIENT_ROUTES = (
    "/",
    "/login",
    "/runbooks",
    "/runbooks/{tail:.+}",
    "/jobs",
    "/jobs/{tail:.+}",
    "/instances/{tail:.+}",
    "/servers",
    "/events",
    "/approvals",
)
"""Paths the console's router draws; each answers index.html (unknown paths stay 404)."""


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class ConsoleFiles:
    version: str
    index: StaticFile
    assets: dict[str, StaticFile]
    """Keyed by the path below the console folder (``js/app.js``)."""


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            out += _walk(entry, f"{prefix}{entry.name}/")
        else:
            out.append((prefix + entry.name, entry.read_bytes()))
    return out


def _static(name: str, body: bytes) -> StaticFile:
    suffix = name[name.rfind("."):] if "." in name else ""
    content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
    gzipped = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
    if gzipped is not None and len(gzipped) >= len(body):
        gzipped = None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return StaticFile(body=body, gzipped=gzipped, content_type=content_type, etag=etag)


def load_console(folder: Traversable | None = None) -> ConsoleFiles:
    """Every console file, read once; the version is the hash of them all."""
    root = folder if folder is not None else resources.files("orch") / "console"
    files = _walk(root)
    digest = hashlib.sha256()
    for name, body in files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:16]
    by_name = dict(files)
    if "index.html" not in by_name:
        raise RuntimeError(f"the console has no index.html in {root}")
    index = _static("index.html", by_name.pop("index.html").replace(
        VERSION_MARK.encode(), version.encode()))
    return ConsoleFiles(
        version=version,
        index=index,
        assets={name: _static(name, body) for name, body in by_name.items()},
    )


CONSOLE = web.AppKey("console", ConsoleFiles)


def _respond(request: web.Request, f: StaticFile, cache_control: str) -> web.Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": f.etag,
               "Vary": "Accept-Encoding"}
    if f.etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
        return web.Response(status=304, headers=headers)
    body = f.body
    if f.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = f.gzipped
        headers["Content-Encoding"] = "gzip"
    response = web.Response(body=body, headers=headers)
    response.content_type, _, charset = f.content_type.partition("; charset=")
    if charset:
        response.charset = charset
    return response


async def page(request: web.Request) -> web.Response:
    """The console's page for ``/`` and every client-side route."""
    return _respond(request, request.app[CONSOLE].index, "no-cache")


async def asset(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    if request.match_info["version"] != console.version:
        # An old page asking for a previous release's file: serve the current one,
        # but do not let it be cached under the old URL.
        cache_control = "no-cache"
    else:
        cache_control = "public, max-age=31536000, immutable"
    f = console.assets.get(request.match_info["path"])
    if f is None:
        raise web.HTTPNotFound(reason="no such console file")
    return _respond(request, f, cache_control)


def add_console_routes(app: web.Application, files: ConsoleFiles | None = None) -> None:
    """Serve the console at ``/``: its page for each client route, its assets by version.

    The routes are unnamed, so the auth middleware lets them through: the page
    and its files are public, the data comes from the API with credentials.
    """
    app[CONSOLE] = files if files is not None else load_console()
    for path in CLIENT_ROUTES:
        app.router.add_get(path, page)
    app.router.add_get(ASSET_PREFIX + "/{version}/{path:.+}", asset)
