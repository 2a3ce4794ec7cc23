"""Reading a directory user's membership again once it is older than the source allows.

The gateway's authentication asks :meth:`Refresher.ensure_fresh` only when the
stored membership is due (older than the source's ``refresh_seconds``): within
the window a request costs no directory round trip. A due refresh is made
once per user at a time in a process (a lock per user) and the stored row is
read again under it, so a refresh another request or gateway made meanwhile is
not repeated. The result goes to the database (:mod:`orch.directory.store`),
which is where every gateway reads memberships from.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import asyncpg

from orch.directory.identity import DirectoryUnavailable
from orch.directory.sources import Directory
from orch.directory.store import apply_identity, deactivate
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["Freshness", "Refresher", "is_due"]

log = get_logger("orch.directory.refresh")


def is_due(age: float, refresh_seconds: float | None) -> bool:
    """Whether a membership read ``age`` seconds ago must be read again before use."""
    return refresh_seconds is not None and age >= refresh_seconds


@dataclass(frozen=True)
class Freshness:
    active: bool
    """The user may act (found and enabled at the last read)."""
    refreshed: bool
    """This call read the directory (the caller's principal must be loaded again)."""


class Refresher:
    def __init__(self, pool: asyncpg.Pool, directory: Directory) -> None:
        self._pool = pool
        self._directory = directory
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    def _lock(self, user_id: str) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def ensure_fresh(self, user_id: str) -> Freshness:
        """Refresh the user's membership if it is still due.

        Raises :class:`DirectoryUnavailable` when it is due and the directory cannot
        be read (the caller refuses the request), and :class:`LookupError` when the
        user's source is not configured here."""
        async with self._lock(user_id):
            row = await self._pool.fetchrow(Q.directory_identity, user_id)
            if row is None:
                raise LookupError(f"user {user_id} has no directory identity")
            source = self._directory.get(row["source"])
            if source is None:
                raise LookupError(f"the directory {row['source']!r} is not configured")
            if not is_due(row["age"], source.refresh_seconds):
                return Freshness(active=row["active"], refreshed=False)
            try:
                identity = await source.refresh(row["subject"], row["name"])
            except DirectoryUnavailable:
                log.warning("directory refresh failed", user=row["name"],
                            directory=source.description, age=row["age"])
                raise
            async with self._pool.acquire() as conn, conn.transaction():
                if identity is None:
                    await deactivate(conn, user_id, row["source"], row["subject"], row["name"])
                else:
                    action = ("directory membership refreshed" if identity.active
                              else "directory user disabled")
                    await apply_identity(conn, user_id, identity, action=action)
            active = identity is not None and identity.active
            log.info("directory membership refreshed", user=row["name"], active=active,
                     groups=None if identity is None else list(identity.groups))
            return Freshness(active=active, refreshed=True)
