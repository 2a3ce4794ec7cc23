"""Operators' control of runbook servers: drain and maintenance, through the database.

An operator never talks to a server process: the gateway changes the
server's row (with an event, an audit entry and a NOTIFY on ``orch_servers``)
and the server follows it — at once on the NOTIFY, or at its next heartbeat.
The claim statements themselves check that the claiming server's row says
``up``, so a server in maintenance or draining claims nothing even before it
has heard of the change.

- drain (status ``up`` or ``maintenance`` → ``draining``; maintenance flag
  set): the server stops claiming, lets its instances finish within its grace
  period, releases the rest (another server resumes them) and then stays
  registered in ``maintenance``. Draining a draining server changes nothing;
  a server that is ``down`` or ``stopped`` has nothing to drain (409).
- maintenance on (flag set; ``up`` → ``maintenance``): it claims nothing (no
  jobs, no takeovers), its standbys take its runbooks, what it runs goes on.
  The flag outlives restarts: a server with it starts in ``maintenance``, so
  it may also be set on a stopped server before it starts.
- maintenance off (flag cleared; ``maintenance`` → ``up``): it claims again.
  While ``draining`` it is a 409: a drain ends in maintenance, end that.
"""

from __future__ import annotations

import asyncpg

from orch.errors import Conflict, NotFound
from orch.sql import Q

__all__ = ["drain_server", "set_maintenance"]


async def _locked(conn: asyncpg.Connection, name: str) -> tuple[str, bool]:
    row = await conn.fetchrow(Q.server_lock, name)
    if row is None:
        raise NotFound(f"no runbook server named {name!r}")
    return row["status"], row["maintenance"]


async def drain_server(conn: asyncpg.Connection, name: str, *, actor: str | None) -> str:
    """Ask server ``name`` to drain; returns its status now (``draining``)."""
    async with conn.transaction():
        status, _ = await _locked(conn, name)
        if status == "draining":
            return status
        if status not in ("up", "maintenance"):
            raise Conflict(f"server {name!r} is not running (status {status}): "
                           "nothing to drain")
        await conn.fetchval(Q.server_operator_update, name, "draining", True, actor, "drain")
    return "draining"


async def set_maintenance(
    conn: asyncpg.Connection, name: str, on: bool, *, actor: str | None
) -> str:
    """Set or clear server ``name``'s maintenance; returns its status now."""
    async with conn.transaction():
        status, flag = await _locked(conn, name)
        if on:
            new = "maintenance" if status == "up" else status
        else:
            if status == "draining":
                raise Conflict(f"server {name!r} is draining; it enters maintenance when "
                               "done, which can then be ended")
            new = "up" if status == "maintenance" else status
        if (new, on) != (status, flag):
            action = "maintenance on" if on else "maintenance off"
            await conn.fetchval(Q.server_operator_update, name, new, on, actor, action)
    return new
