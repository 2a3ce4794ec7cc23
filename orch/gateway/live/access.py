"""Who sees what on the live feed: the one place the permission model plugs in.

A ``job`` or ``runbook`` subscription is authorized once, when it is made
(``view`` on the runbook's path; 404 when the caller may not see it). An
``all`` subscription gets a filter from :func:`all_events_filter`: None shows
everything (admins); for anyone else a set of the runbook ids it may view,
taken when it subscribes, so each event costs one set lookup. Runbooks
checked in (or grants given) later show up when the client subscribes again.

A directory user (LDAP, OIDC) is checked again on each subscription by
:func:`current_principal`, as every API request is: its membership read again
when older than the directory's refresh interval (401 or 503 as an error frame
when it was removed or the directory cannot be read), and its grants reloaded,
so a subscription made after a membership change gets the new rights.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from orch.gateway.auth import with_grants
from orch.gateway.errors import Unauthorized
from orch.gateway.external import check_directory_user
from orch.gateway.keys import POOL, PRINCIPAL
from orch.gateway.live.hub import Visible
from orch.gateway.principal import Principal
from orch.sql import Q


async def current_principal(request: web.Request) -> Principal:
    """The socket's caller as of now (unchanged for a local user); see the module doc."""
    principal = request[PRINCIPAL]
    if principal.directory is None:
        return principal
    pool = request.app[POOL]
    row = await pool.fetchrow(Q.directory_principal, principal.user_id)
    if row is not None and await check_directory_user(request, row):
        row = await pool.fetchrow(Q.directory_principal, principal.user_id)
    if row is None:
        raise Unauthorized(f"user {principal.name!r} is disabled")
    principal = await with_grants(request, msgspec.structs.replace(
        principal, is_admin=row["is_admin"]))
    request[PRINCIPAL] = principal
    return principal


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
