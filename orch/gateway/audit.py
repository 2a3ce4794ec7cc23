"""The audit log's one writer for gateway actions.

Every management action (check-in, check-out, start, stop, grant, …) calls
:func:`audit` on the connection of the action's own transaction, so the row
commits (or rolls back) with what it records: who (the caller), what, on
what, and from where (the request's remote address).
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from orch.gateway.keys import PRINCIPAL
from orch.sql import Q

__all__ = ["audit"]


async def audit(
    conn: asyncpg.Connection | asyncpg.Pool, request: web.Request, action: str,
    target: str | None, data: dict[str, object] | None = None,
) -> None:
    """One audit row: who (the caller), what, on what, and from where."""
    principal = request.get(PRINCIPAL)
    actor = principal.name if principal is not None else None
    await conn.execute(Q.security_audit, actor, action, target, data, request.remote)
