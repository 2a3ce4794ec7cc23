"""What a lost database looks like, and what to do with the connection that saw it.

After a failover the old primary's connections die (reset, refused, "terminating
connection due to administrator command"), new ones may reach a standby that is
not promoted yet (refused by ``target_session_attrs=read-write``, or read-only
for a URL without it), and a freshly promoted primary may refuse connections
for a moment (too many clients, "the database system is starting up"). Every
component treats all of these the same way: throw the connection away (never
give it back to the pool, where a live read-only session would be handed out
again), back off, and try again on a new one, which the pool opens on whichever
host is writable now.

``RETRYABLE`` adds the two transient refusals of a healthy connection
(deadlock, serialization): the same statement succeeds when run again.
"""

from __future__ import annotations

import contextlib

import asyncpg

__all__ = ["LOST", "RETRYABLE", "Backoff", "discard", "is_lost"]

LOST: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, the unix socket gone
    TimeoutError,  # a connect or statement deadline: the session's state is unknown
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.ConnectionDoesNotExistError,
    # "released back to the pool" (a connection the pool took back when it died),
    # "connection is closed", "pool is closing"
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # 57P01: fast/immediate shutdown, pg_terminate_backend
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed
    asyncpg.TooManyConnectionsError,  # 53300: every client reconnecting at once
    asyncpg.ReadOnlySQLTransactionError,  # 25006: this session reached a standby
    # a connection lost mid-operation can leave asyncpg's protocol state
    # inconsistent; also TargetServerAttributeNotMatched (no host is writable)
    asyncpg.InternalClientError,
)
"""The connection, or the host it reached, cannot be used: discard it and retry."""

RETRYABLE: tuple[type[BaseException], ...] = (
    *LOST,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
"""Run the statement again (on a new connection when ``is_lost``)."""


def is_lost(exc: BaseException) -> bool:
    return isinstance(exc, LOST)


def discard(conn: asyncpg.Connection | None) -> None:
    """Close ``conn`` for good, whatever its state (released, broken, read-only).

    A pool connection's ``terminate()`` hands its slot back to the pool, which
    opens a new session on the next acquire; on a connection the pool already
    took back (the proxy is detached) it raises, and there is nothing to do.
    """
    if conn is None:
        return
    with contextlib.suppress(asyncpg.InterfaceError, *LOST):
        conn.terminate()


class Backoff:
    """Delays that double from ``first`` up to ``most`` (bounded back-off); ``reset()``."""

    __slots__ = ("delay", "first", "most")

    def __init__(self, first: float = 0.05, most: float = 2.0) -> None:
        self.first = first
        self.most = most
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.most)
        return delay

    def reset(self) -> None:
        self.delay = self.first
