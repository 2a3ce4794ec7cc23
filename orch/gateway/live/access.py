"""Who sees what on the live feed: the one place the permission model plugs in.

A ``job`` or ``runbook`` subscription is authorized once, when it is made
(``view`` on the runbook's path). An ``all`` subscription gets a filter from
:func:`all_events_filter`: None shows everything (admins); a function of the
runbook id limits it to what the caller may view (operators, issue 11).
"""

from __future__ import annotations

from aiohttp import web

from orch.gateway.auth import authorize
from orch.gateway.live.hub import Visible


async def all_events_filter(request: web.Request) -> Visible | None:
    """The filter for an ``all`` subscription of the caller (None: no filter)."""
    authorize(request, "view", "/")
    return None
