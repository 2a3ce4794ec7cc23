"""A runbook server's own ``/metrics`` listener (``orch server --metrics-port``).

A runbook server has no HTTP side otherwise, so this is the smallest aiohttp
app that serves the process' metrics, on 127.0.0.1 only: scrape it from the
same machine (or put the scraper's own proxy in front). ``orch up`` does not
need it: the gateway's ``/metrics`` shows the same process.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from orch.metrics.registry import CONTENT_TYPE, render

__all__ = ["metrics_listener"]

HOST = "127.0.0.1"


async def _metrics(_request: web.Request) -> web.Response:
    response = web.Response(body=render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


@contextlib.asynccontextmanager
async def metrics_listener(port: int) -> AsyncIterator[int]:
    """Serve ``GET /metrics`` on 127.0.0.1:``port`` (0: any free port) while entered.

    Yields the port actually bound.
    """
    app = web.Application()
    app.router.add_get("/metrics", _metrics, name="metrics")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, port).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
