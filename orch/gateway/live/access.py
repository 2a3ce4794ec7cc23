"""Who sees what on the live feed: the one place the permission model plugs in.

A ``job`` or ``runbook`` subscription is authorized once, when it is made
(``view`` on the runbook's path; 404 when the caller may not see it). An
``all`` subscription gets a filter from :func:`all_events_filter`: None shows
everything (admins); for anyone else a set of the runbook ids it may view,
taken when it subscribes, so each event costs one set lookup. Runbooks
checked in (or grants given) later show up when the client subscribes again.
"""

from __future__ import annotations

from aiohttp import web

from orch.gateway.keys import POOL, PRINCIPAL
from orch.gateway.live.hub import Visible
from orch.sql import Q


async def all_events_filter(request: web.Request) -> Visible | None:
    """The filter for an ``all`` subscription of the caller (None: no filter)."""
    scope = request[PRINCIPAL].view_scope()
    if scope is None:
        return None
    rows = await request.app[POOL].fetch(Q.security_visible_runbook_ids, scope)
    visible = frozenset(r["id"] for r in rows)

    def shows(runbook_id: str | None) -> bool:
        return runbook_id is not None and runbook_id in visible

    return shows
