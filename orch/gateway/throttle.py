"""Login rate limiting: a sliding window over the failed logins in the database.

The failed logins are the audit log's own ``login_failed`` rows, so the count
is shared by every gateway on the database (no per-process state to bypass by
spreading attempts over gateways) and survives restarts. A name tried from one
address gets ``login_max_failures`` failures per ``login_window_seconds``, an
address ``login_max_failures_per_address`` over every name. Past either, the
login is refused with 429 and ``Retry-After`` *before* the password is checked,
so even the right password waits (and guessing gains nothing). Refused attempts
are not counted, so the lock ends when the window has moved past the failures.
The failure that engages the lock writes a ``login_locked_out`` audit row.
"""

from __future__ import annotations

import math

import asyncpg

from orch.config import Settings
from orch.gateway.errors import HttpError
from orch.sql import Q

__all__ = ["TooManyRequests", "check_login_allowed", "record_login_failure"]


class TooManyRequests(HttpError):
    status = 429
    code = "too-many-login-failures"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


async def _retry_after(
    conn: asyncpg.Connection | asyncpg.Pool, settings: Settings, name: str, remote: str | None
) -> float | None:
    wait = await conn.fetchval(
        Q.login_retry_after, name, remote, settings.login_window_seconds,
        settings.login_max_failures, settings.login_max_failures_per_address,
    )
    return wait if wait is not None and wait > 0 else None


async def check_login_allowed(
    pool: asyncpg.Pool, settings: Settings, name: str, remote: str | None
) -> None:
    """Raise :class:`TooManyRequests` while ``name`` (or ``remote``) is locked out."""
    wait = await _retry_after(pool, settings, name, remote)
    if wait is not None:
        raise TooManyRequests("too many failed logins: try again later", wait)


async def record_login_failure(
    pool: asyncpg.Pool, settings: Settings, name: str, remote: str | None
) -> None:
    """The ``login_failed`` audit row, and ``login_locked_out`` when it engages the lock."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.session_audit, name, "login_failed", remote)
        wait = await _retry_after(conn, settings, name, remote)
        if wait is not None:
            await conn.execute(Q.login_lockout_audit, name, remote, wait)
