"""The instance log's writer: lines from every activity of a server, written in batches.

Activities call ``ctx.write_log`` (and ``run_program``/``run_script`` for each
output line as it arrives): :meth:`InstanceLogWriter.write` only appends to a
bounded queue. One task writes what has queued up in one statement that does
not wait for the WAL flush (a lost log line is not worth a flush per batch),
one batch at a time, so each instance's lines keep their order. Past
``max_pending`` lines the rest are counted and replaced by one marker line per
instance ("[N lines dropped]"): a program flooding its output cannot grow the
server's memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

import asyncpg

from orch.db.lost import RETRYABLE
from orch.logging import get_logger
from orch.masking import SECRETS
from orch.sql import Q

__all__ = ["InstanceLogWriter"]

log = get_logger(__name__)

RETRY_SECONDS = 60.0
"""How long a batch of lines waits for the database before it is dropped."""

MAX_LINE = 64 * 1024

_Line = tuple[str, str | None, str | None, str, datetime, str]


class InstanceLogWriter:
    def __init__(
        self, pool: asyncpg.Pool, *, max_pending: int = 50_000, max_batch: int = 2_000
    ) -> None:
        self.pool = pool
        self.max_pending = max_pending
        self.max_batch = max_batch
        self._pending: deque[_Line] = deque()
        self._dropped: dict[tuple[str, str | None, str | None], int] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.written = 0

    def write(self, instance_id: str, run_id: str, activity: str, stream: str,
              text: str) -> None:
        """Queue one line (the SDK's ``LogSink``); never waits."""
        if self._closed:
            return
        if len(self._pending) >= self.max_pending:
            key = (instance_id, run_id or None, activity or None)
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return
        text = SECRETS.mask(text)  # a decrypted secret never reaches the log
        if len(text) > MAX_LINE:
            text = text[:MAX_LINE] + f" [{len(text) - MAX_LINE} more characters]"
        self._pending.append(
            (instance_id, run_id or None, activity or None, stream, datetime.now(UTC), text)
        )
        self._idle.clear()
        self._wake.set()

    def close(self) -> None:
        """Write what is queued, then stop ``run``."""
        self._closed = True
        self._wake.set()

    async def flush(self) -> None:
        """Return once every line queued so far is written."""
        await self._idle.wait()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending or self._dropped:
                batch = self._take()
                await self._insert(batch)
            self._idle.set()
            if self._closed:
                return

    def _take(self) -> list[_Line]:
        batch: list[_Line] = []
        while self._pending and len(batch) < self.max_batch:
            batch.append(self._pending.popleft())
        if self._dropped and len(self._pending) < self.max_pending // 2:
            now = datetime.now(UTC)
            for (instance_id, run_id, activity), n in self._dropped.items():
                batch.append((instance_id, run_id, activity, "log", now,
                              f"[{n} lines dropped: the log was written faster than stored]"))
            self._dropped.clear()
        return batch

    async def _insert(self, batch: list[_Line]) -> None:
        if not batch:
            return
        columns = list(zip(*batch, strict=True))
        delay = 0.05
        waited = 0.0
        while waited < RETRY_SECONDS:  # long enough for a failover
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(Q.api_instance_log_write, *columns)
                self.written += len(batch)
                return
            except RETRYABLE as exc:
                log.warning("instance log: database unavailable", error=str(exc),
                            retry_in=delay)
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 2.0)
        log.error("instance log: lines lost, the database stayed unavailable", lines=len(batch))
