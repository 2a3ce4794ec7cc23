"""Operations routes: runbook servers, integration packs, and the event log."""

from __future__ import annotations

from importlib.metadata import entry_points
from uuid import UUID

import msgspec
from aiohttp import web

from orch.api.operations import (
    ActivityInfo,
    EventList,
    EventRecord,
    IntegrationPack,
    ListEventsQuery,
    ListPacksQuery,
    ListServersQuery,
    PackList,
    Server,
    ServerList,
)
from orch.db.jobs import resolve_runbook
from orch.gateway.auth import authorize, require_admin, view_scope
from orch.gateway.bodies import json_response, read_query
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import Invalid, NotFoundError
from orch.gateway.keys import POOL, PRINCIPAL, REGISTRY, SETTINGS
from orch.sdk.registry import GROUP, Registry
from orch.sql import Q


async def list_servers(request: web.Request) -> web.Response:
    query = read_query(request, ListServersQuery)
    authorize(request, "view", "/")
    after = decode_cursor(query.cursor, str)
    timeout = request.app[SETTINGS].server_timeout_seconds
    rows = await request.app[POOL].fetch(Q.api_servers_page, after, query.limit + 1, timeout)
    items = [msgspec.convert(dict(r), Server) for r in rows[: query.limit]]
    next_cursor = encode_cursor(items[-1].name) if len(rows) > query.limit else None
    return json_response(ServerList(items=items, next=next_cursor))


async def get_server(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    authorize(request, "view", "/")
    if "\x00" in name:
        raise NotFoundError(f"no runbook server named {name!r}")
    timeout = request.app[SETTINGS].server_timeout_seconds
    row = await request.app[POOL].fetchrow(Q.api_server, name, timeout)
    if row is None:
        raise NotFoundError(f"no runbook server named {name!r}")
    return json_response(msgspec.convert(dict(row), Server))


def _pack_versions() -> dict[str, str | None]:
    """Pack name → its distribution's version, for the packs installed here."""
    out: dict[str, str | None] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist
        out[ep.name] = dist.version if dist is not None else None
    return out


def _activities(registry: Registry, pack: str) -> list[ActivityInfo]:
    types = sorted(registry.packs().get(pack, []), key=lambda t: t.name)
    return [
        ActivityInfo(name=t.name, qualified_name=t.qualified_name,
                     display_name=t.display_name or t.name, category=t.category,
                     description=t.description, rerunnable=t.rerunnable, monitor=t.monitor)
        for t in types
    ]  # fmt: skip


async def list_packs(request: web.Request) -> web.Response:
    """Packs installed where the gateway runs, and those the runbook servers report."""
    query = read_query(request, ListPacksQuery)
    authorize(request, "view", "/")
    after = decode_cursor(query.cursor, str)
    registry = request.app[REGISTRY]
    local = set(registry.packs())
    versions = _pack_versions()
    servers: dict[str, list[str]] = {}
    for row in await request.app[POOL].fetch(Q.api_server_packs):
        servers.setdefault(row["pack"], []).append(row["name"])
    names = sorted(local | set(servers))
    if after is not None:
        names = [n for n in names if n > after]
    page = names[: query.limit]
    items = [
        IntegrationPack(name=n, version=versions.get(n) if n in local else None,
                        installed_on_gateway=n in local, activities=_activities(registry, n),
                        servers=servers.get(n, []))
        for n in page
    ]  # fmt: skip
    next_cursor = encode_cursor(page[-1]) if len(names) > query.limit else None
    return json_response(PackList(items=items, next=next_cursor))


async def list_events(request: web.Request) -> web.Response:
    """Newest first. ``kind=audit`` reads the audit log; the rest read the events."""
    query = read_query(request, ListEventsQuery)
    if query.since is not None and query.until is not None and query.since > query.until:
        raise Invalid("since is after until", path="$.since", code="invalid-query")
    after = decode_cursor(query.cursor, int)
    pool = request.app[POOL]
    if query.kind == "audit":
        for name in ("runbook", "job", "instance", "server"):
            if getattr(query, name) is not None:
                raise Invalid(f"the audit log has no {name} filter", path=f"$.{name}",
                              code="invalid-query")
        require_admin(request, "read the audit log")
        rows = await pool.fetch(Q.api_audit_page, query.since, query.until, after,
                                query.limit + 1)
    else:
        runbook_id = None
        async with pool.acquire() as conn:
            if query.runbook is not None:
                runbook = await resolve_runbook(conn, query.runbook)
                if runbook is None or not request[PRINCIPAL].may_see(runbook.path):
                    raise Invalid(f"no runbook {query.runbook}", path="$.runbook",
                                  code="invalid-query")
                runbook_id = runbook.id
            rows = await conn.fetch(
                Q.api_events_page, query.kind, runbook_id, _uuid(query.job, "$.job"),
                _uuid(query.instance, "$.instance"), query.server, query.since, query.until,
                after, query.limit + 1, view_scope(request),
            )
    items = [msgspec.convert(dict(r), EventRecord) for r in rows[: query.limit]]
    next_cursor = encode_cursor(items[-1].seq) if len(rows) > query.limit else None
    return json_response(EventList(items=items, next=next_cursor))


def _uuid(text: str | None, path: str) -> UUID | None:
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        raise Invalid(f"not an id: {text!r}", path=path, code="invalid-query") from None
