"""``GET /metrics`` on the gateway: Prometheus text, public, token-protected or off.

``ORCH_METRICS`` (``Settings.metrics``) decides: ``public`` needs no
credentials (for a scraper on a trusted network), ``token`` takes any valid
API token or console session like the API does (the default), ``off`` adds
no route at all. The route is outside ``/api/v1`` and not in the OpenAPI
document: it is for machines, in Prometheus' format.

A scrape first sets the gauges that describe the shared state — jobs by
status from the database, the live feed's lag and open websockets from this
gateway's feed — then renders every metric of the process (in ``orch up``
that includes the runbook server's).
"""

from __future__ import annotations

from aiohttp import web

from orch.gateway.keys import POOL, PUBLIC_ROUTES, SETTINGS
from orch.gateway.live import LIVE
from orch.metrics import (
    CONTENT_TYPE,
    JOB_STATUSES,
    JOBS,
    WEBSOCKET_CLIENTS,
    render,
    set_event_feed_lag,
)
from orch.sql import Q

__all__ = ["ROUTE_NAME", "install_metrics"]

ROUTE_NAME = "metrics"


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    async with app[POOL].acquire() as conn:
        counts = {r["status"]: r["n"] for r in await conn.fetch(Q.metrics_jobs_by_status)}
        for status in JOB_STATUSES:
            JOBS.labels(status).set(counts.get(status, 0))
        feed = app.get(LIVE)
        if feed is not None:
            WEBSOCKET_CLIENTS.set(len(feed.sockets))
            if feed.reader.tracker is not None:
                position = feed.reader.last
                row = await conn.fetchrow(Q.metrics_event_feed_lag, position)
                assert row is not None
                behind = (row["head"] or 0) - position
                age = (row["now"] - row["oldest"]).total_seconds() if row["oldest"] else 0.0
                set_event_feed_lag(age, behind)
    response = web.Response(body=render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


def install_metrics(app: web.Application) -> None:
    """Add ``GET /metrics`` as ``app[SETTINGS].metrics`` says (after the route table)."""
    mode = app[SETTINGS].metrics
    if mode == "off":
        return
    app.router.add_get("/metrics", metrics, name=ROUTE_NAME)
    if mode == "public":
        app[PUBLIC_ROUTES] = app[PUBLIC_ROUTES] | {ROUTE_NAME}
