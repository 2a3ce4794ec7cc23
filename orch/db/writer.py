"""Group commit: one writer task turns the writes of every instance into few transactions.

Each instance awaits the durability of its own record (a future resolved after
COMMIT), while the writer sends everything that queued up meanwhile as one
statement (``write_batch``): one round trip and one fsync for many results.
When idle a record is written at once, so a lone instance pays one commit per
durable step and no added delay.

Ordering: records are written in submission order; a run's start known here
is kept until its result, so the result is written as a full row (an upsert)
and never depends on which batch carried the start.

Cost per batch: the writer keeps the connections it writes on (one per batch
in flight) instead of returning them to the pool after each batch, whose
reset would add a round trip before the next commit; a batch holding one run
of one instance (a lone instance stepping through a chain) goes as
``write_run``, with plain parameters instead of arrays to unnest, and its
last run with the instance's outcome as ``write_final_run``; a batch of
runs only (the common case under load) as ``write_runs_json``, its runs one
JSON document encoded by msgspec instead of fifteen arrays encoded element by
element.

Claim events: a job claimed by ``claim_jobs_fast`` has its instance row but
not yet its ``job``/``instance`` running events (the lean claim writes only
the job and instance rows, issue 21). ``claimed()`` notes the instance; its first record, whatever
it is, carries a flag, and the batch that writes it writes those two events
just before that record's own. A takeover writes them if that batch never
committed (``claim_instances``).

Quiet commits: a lone run (``write_run``) sent less than ``quiet_seconds``
after this writer's last notifying commit ended does not NOTIFY
``orch_events`` (the gateways' readers woken by that commit are still
polling; orch/db/feed_wake.py); when one ends too late for that, the next
batch notifies, or the writer on its own once idle. Larger batches always
notify: their NOTIFY is shared by many records, and under load the feed's
readers are woken as soon as possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from actors.store import InstanceOutcome, InstanceRef, RunResult, RunStart
from orch.db.feed_wake import LATE_SECONDS, QUIET_SECONDS
from orch.db.lost import RETRYABLE, Backoff, discard, is_lost
from orch.errors import OrchError
from orch.logging import get_logger
from orch.sql import Q

__all__ = ["RETRYABLE", "GroupCommitWriter", "OwnershipLost", "WriterClosed"]

log = get_logger(__name__)

_START, _RESULT, _OUTCOME = 0, 1, 2
class OwnershipLost(OrchError):
    """This server no longer owns the instance (it was taken over); stop running it."""


class WriterClosed(OrchError):
    """The store's writer is closed."""


class _Op:
    __slots__ = ("claimed", "future", "kind", "record", "ref")

    def __init__(
        self, kind: int, ref: InstanceRef, record: Any, future: asyncio.Future[None] | None,
        claimed: bool,
    ) -> None:
        self.kind = kind
        self.ref = ref
        self.record = record
        self.future = future
        self.claimed = claimed
        """The instance's first record after a lean claim: its claim events go first."""


class GroupCommitWriter:
    """Owns the batching; ``run()`` is its task (owned by the runbook server's TaskGroup)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        server: str,
        *,
        max_batch: int = 2000,
        max_inflight: int = 2,
        running_count: Callable[[], int] | None = None,
        on_batch: Callable[[int, float], None] | None = None,
        on_outcome: Callable[[str], None] | None = None,
        quiet_seconds: float = QUIET_SECONDS,
    ) -> None:
        """``on_batch``: called with (records, seconds) after each committed batch;
        ``on_outcome``: with the status of each instance outcome committed (metrics);
        ``quiet_seconds``: how soon after a notifying commit a lone run's batch
        goes without its NOTIFY (0: every batch notifies)."""
        self.pool = pool
        self.server = server
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._inflight: set[asyncio.Task[None]] = set()
        self._busy: dict[str, int] = {}
        """Instances with records in a batch in flight (record count)."""
        self._running_count = running_count
        self._on_batch = on_batch
        self._on_outcome = on_outcome
        self._conns: list[asyncpg.Connection] = []
        """Connections between two batches (at most ``max_inflight``), kept, not released."""
        self._queue: deque[_Op] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closing = False
        self._closed = False
        self._starts: dict[str, tuple[InstanceRef, RunStart]] = {}
        """Starts of runs whose result is not written yet (to write results in full)."""
        self._claimed: set[str] = set()
        """Instances claimed with their claim events unwritten, until their first record."""
        self.quiet_seconds = quiet_seconds
        self.late_seconds = LATE_SECONDS * quiet_seconds / QUIET_SECONDS
        self._notified_at = float("-inf")
        """When this writer's last notifying commit ended (``time.monotonic()``)."""
        self._owed = False
        """A quiet commit ended late: the next batch notifies (or the idle writer)."""
        self.quiet = 0
        """Batches committed without their NOTIFY."""
        self.batches = 0
        self.records = 0

    # -- submitting --------------------------------------------------------------------

    def claimed(self, instance_id: str) -> None:
        """The instance was claimed without its events: its first record writes them."""
        self._claimed.add(instance_id)

    def forget(self, instance_id: str) -> None:
        """The instance ended here without a record (nothing of it to write)."""
        self._claimed.discard(instance_id)

    def submit_start(
        self, ref: InstanceRef, start: RunStart, *, durable: bool
    ) -> asyncio.Future[None] | None:
        return self._submit(_START, ref, start, durable)

    def submit_result(self, ref: InstanceRef, result: RunResult) -> asyncio.Future[None]:
        fut = self._submit(_RESULT, ref, result, True)
        assert fut is not None
        return fut

    def submit_outcome(self, ref: InstanceRef, outcome: InstanceOutcome) -> asyncio.Future[None]:
        fut = self._submit(_OUTCOME, ref, outcome, True)
        assert fut is not None
        return fut

    def _submit(
        self, kind: int, ref: InstanceRef, record: Any, durable: bool
    ) -> asyncio.Future[None] | None:
        if self._closed:
            raise WriterClosed()
        fut: asyncio.Future[None] | None = None
        if durable:
            fut = asyncio.get_running_loop().create_future()
        claimed = False
        if self._claimed and ref.instance_id in self._claimed:
            self._claimed.discard(ref.instance_id)
            claimed = True
        self._queue.append(_Op(kind, ref, record, fut, claimed))
        self._drained.clear()
        self._wake.set()
        return fut

    async def flush(self) -> None:
        """Return once everything submitted so far, and the batch in flight, is written."""
        while not self._drained.is_set() and not self._closed:
            await self._drained.wait()

    # -- the writer task ---------------------------------------------------------------

    async def run(self) -> None:
        """Write batches until ``close()`` and the queue is empty.

        Up to ``max_inflight`` batches are written at once, on separate
        connections, so the database works on one while the next is sent; an
        instance's records are never in two batches at once (they stay queued
        until its batch in flight is committed), which keeps each instance's
        writes and events in order.
        """
        try:
            async with asyncio.TaskGroup() as tg:
                while True:
                    batch = self._take() if len(self._inflight) < self.max_inflight else []
                    if batch:
                        self._inflight.add(
                            tg.create_task(self._write_batch(batch), name="group-commit")
                        )
                        continue
                    if not self._queue and not self._inflight:
                        if self._owed:
                            await self._notify_owed()
                            continue  # records may have come meanwhile
                        self._drained.set()
                        if self._closing:
                            return
                    self._wake.clear()
                    await self._wake.wait()
        finally:
            self._closed = True
            self._drained.set()
            error = WriterClosed()
            while self._queue:
                op = self._queue.popleft()
                if op.future is not None and not op.future.done():
                    op.future.set_exception(error)
            while self._conns:
                await self._release(self._conns.pop())

    def close(self) -> None:
        """Finish what is queued, then let ``run()`` return."""
        self._closing = True
        self._wake.set()

    def _take(self) -> list[_Op]:
        """The next batch: queued records, in order, of instances with no batch in flight."""
        queue = self._queue
        busy = self._busy
        if not busy:
            n = min(len(queue), self.max_batch)
            batch = [queue.popleft() for _ in range(n)]
        else:
            batch, kept = [], deque()
            while queue and len(batch) < self.max_batch:
                op = queue.popleft()
                (kept if op.ref.instance_id in busy else batch).append(op)
            kept.extend(queue)
            self._queue = kept
        for op in batch:
            busy[op.ref.instance_id] = busy.get(op.ref.instance_id, 0) + 1
        return batch

    async def _write_batch(self, batch: list[_Op]) -> None:
        try:
            await self._write(batch)
        finally:
            busy = self._busy
            for op in batch:
                left = busy[op.ref.instance_id] - 1
                if left:
                    busy[op.ref.instance_id] = left
                else:
                    del busy[op.ref.instance_id]
            task = asyncio.current_task()
            self._inflight.discard(task)  # type: ignore[arg-type]
            self._wake.set()

    async def _write(self, batch: list[_Op]) -> BaseException | None:
        """Write the batch (retrying connection failures); returns the error that
        refused a one-record batch, else None."""
        backoff = Backoff()
        while True:
            conn: asyncpg.Connection | None = None
            try:
                began = time.perf_counter()
                single = self._single(batch)
                final = self._final(batch) if single is None else None
                conn = self._kept() or await self.pool.acquire()
                quiet = single is not None and self._may_be_quiet()
                if single is not None:
                    statement = Q.write_claimed_run if batch[0].claimed else Q.write_run
                    fenced = {batch[0].ref.instance_id} if await conn.fetchval(
                        statement, *single, quiet) else set()
                elif final is not None:
                    fenced = {batch[0].ref.instance_id} if await conn.fetchval(
                        Q.write_final_run, *final) else set()
                else:
                    args = self._arguments(batch)
                    if not args[18] and not args[26]:  # no partial results, no outcomes
                        rows = await conn.fetch(Q.write_runs_json, *args[:3],
                                                _runs_json(args[3:18]), *args[33:])
                    else:
                        rows = await conn.fetch(Q.write_batch, *args)
                    fenced = {r[0] for r in rows}
            except RETRYABLE as exc:
                if is_lost(exc):
                    # Never again on this connection nor on the ones kept beside
                    # it: after a failover they are dead (already taken back by
                    # the pool: "released back to the pool") or on a host that
                    # is no longer the primary. The retry acquires a new one,
                    # which the pool opens on whichever host is writable now.
                    discard(conn)
                    self._discard_kept()
                elif conn is not None:
                    await self._release(conn)
                log.warning("group commit failed, retrying", error=str(exc), records=len(batch))
                await asyncio.sleep(backoff.next())
                continue
            except Exception as exc:
                if conn is not None:
                    self._keep(conn)  # one statement: nothing left open on it
                if len(batch) > 1:
                    # One bad record must not fail the others: write them one by
                    # one. An instance's records after a refused one are not
                    # written (its final result refused: no outcome either).
                    refused: dict[str, BaseException] = {}
                    for op in batch:
                        earlier = refused.get(op.ref.instance_id)
                        if earlier is not None:
                            self._settle([op], set(), earlier)
                            continue
                        error = await self._write([op])
                        if error is not None:
                            refused[op.ref.instance_id] = error
                    return None
                log.error("record refused by the database", error=str(exc))
                self._settle(batch, set(), exc)
                return exc
            self.batches += 1
            self.records += len(batch)
            self._settle(batch, fenced, None)
            if self._on_batch is not None:
                self._on_batch(len(batch), time.perf_counter() - began)
            self._keep(conn)
            self._woken(quiet)
            return None

    def _may_be_quiet(self) -> bool:
        return not self._owed and time.monotonic() - self._notified_at < self.quiet_seconds

    def _woken(self, quiet: bool) -> None:
        """Note a notifying commit, or a quiet one that ended too late for the
        readers' polling to find it for sure: the next batch then notifies, or
        the writer does once idle (feed_wake.py)."""
        ended = time.monotonic()
        if not quiet:
            self._notified_at = ended
            self._owed = False
            return
        self.quiet += 1
        if ended - self._notified_at > self.late_seconds:
            self._owed = True

    async def _notify_owed(self) -> None:
        """Idle, with a late quiet commit's wake-up owed: send it on its own."""
        self._owed = False
        conn: asyncpg.Connection | None = None
        try:
            conn = self._kept() or await self.pool.acquire()
            await conn.execute(Q.notify_events)
        except RETRYABLE as exc:  # committed already: a reader's idle poll finds it
            log.warning("live feed wake-up failed", error=str(exc))
            if conn is not None and is_lost(exc):
                discard(conn)
                return
        else:
            self._notified_at = time.monotonic()
        if conn is not None:
            self._keep(conn)

    def _keep(self, conn: asyncpg.Connection) -> None:
        if _usable(conn):
            self._conns.append(conn)

    def _kept(self) -> asyncpg.Connection | None:
        """A kept connection still open, else None (then the pool gives a fresh one).

        A kept connection whose session died while idle (a failover, a restart)
        was taken back by the pool: it is dropped here, never used.
        """
        while self._conns:
            conn = self._conns.pop()
            if _usable(conn):
                return conn
        return None

    def _discard_kept(self) -> None:
        while self._conns:
            discard(self._conns.pop())

    async def _release(self, conn: asyncpg.Connection) -> None:
        with contextlib.suppress(*RETRYABLE):
            await self.pool.release(conn)

    def _single(self, batch: list[_Op]) -> list[Any] | None:
        """``write_run``'s parameters but the last (quiet) when the batch is one run of
        one instance, else None (``write_claimed_run`` when it carries the claim's events).

        That is a start with its result, or a result whose start an earlier
        batch of this writer carried, or a start alone.
        """
        n = len(batch)
        if n > 2 or batch[0].kind == _OUTCOME:
            return None
        first = batch[0]
        ref = first.ref
        if n == 2:
            second = batch[1]
            if (first.kind != _START or second.kind != _RESULT
                    or second.record.run_id != first.record.run_id):
                return None
            start, result, start_ord = first.record, second.record, 0
        elif first.kind == _START:
            start, result, start_ord = first.record, None, 0
        else:
            known = self._starts.get(first.record.run_id)
            if known is None:
                return None  # recorded by an earlier owner: write_batch updates it
            start, result, start_ord = known[1], first.record, None
        if result is None:
            self._starts[start.run_id] = (ref, start)
            return [self.server, ref.instance_id, ref.epoch, start.run_id, start.activity,
                    start.parent_run, start.item, start.attempt, "running", _EMPTY_LIST,
                    start.lineage, start.started_at, None, None, 0, None, None]
        return [self.server, ref.instance_id, ref.epoch, start.run_id, start.activity,
                start.parent_run, start.item, start.attempt, result.status,
                msgspec.Raw(_encode(result.published)), start.lineage, start.started_at,
                result.ended_at, result.error, start_ord, 1, result.returned_data]

    def _final(self, batch: list[_Op]) -> list[Any] | None:
        """``write_final_run``'s parameters when the batch is one instance's last run and
        its outcome (a start with its result, or a result whose start an earlier batch
        of this writer carried, then the outcome), else None."""
        n = len(batch)
        if n not in (2, 3) or batch[-1].kind != _OUTCOME:
            return None
        first, outcome = batch[0], batch[-1]
        ref = first.ref
        if outcome.ref.instance_id != ref.instance_id:
            return None
        if n == 3:
            result = batch[1]
            if (first.kind != _START or result.kind != _RESULT
                    or result.ref.instance_id != ref.instance_id
                    or result.record.run_id != first.record.run_id):
                return None
            start, start_ord = first.record, 0
        else:
            result = first
            if result.kind != _RESULT:
                return None
            known = self._starts.get(result.record.run_id)
            if known is None:
                return None  # recorded by an earlier owner: write_batch updates it
            start, start_ord = known[1], None
        run: RunResult = result.record
        end: InstanceOutcome = outcome.record
        return [self.server, ref.instance_id, ref.epoch, start.run_id, start.activity,
                start.parent_run, start.item, start.attempt, run.status,
                msgspec.Raw(_encode(run.published)), start.lineage, start.started_at,
                run.ended_at, run.error, start_ord, run.returned_data, first.claimed,
                end.status, msgspec.Raw(_encode(end.returned_data)), end.ended_at, end.error,
                self._running_after(1)]

    def _running_after(self, ending: int) -> int | None:
        """The server's running count to record with ``ending`` instance outcomes (they
        still count in ``running_count`` until durable), or None: leave it."""
        if self._running_count is None:
            return None
        return max(0, self._running_count() - ending)

    def _settle(self, batch: list[_Op], fenced: set[str], error: BaseException | None) -> None:
        for op in batch:
            if op.kind == _RESULT:
                self._starts.pop(op.record.run_id, None)
            elif (op.kind == _OUTCOME and error is None and self._on_outcome is not None
                  and op.ref.instance_id not in fenced):
                self._on_outcome(op.record.status)
            fut = op.future
            if fut is None or fut.done():
                continue
            if error is not None:
                fut.set_exception(error)
            elif op.ref.instance_id in fenced:
                fut.set_exception(
                    OwnershipLost(f"instance {op.ref.instance_id} is no longer owned by "
                                  f"{self.server} at epoch {op.ref.epoch}")
                )
            else:
                fut.set_result(None)

    def _arguments(self, batch: list[_Op]) -> list[Any]:
        owners: dict[str, int] = {}
        full: dict[str, list[Any]] = {}
        # full row: [run_id, instance_id, activity, parent_run, item, attempt, status,
        #            published, lineage, started_at, ended_at, error, start_ord, result_ord,
        #            returned_data]
        partial: list[tuple[int, InstanceRef, RunResult]] = []
        outcomes: list[tuple[int, InstanceRef, InstanceOutcome]] = []
        claims: list[str] = []
        claim_ords: list[int] = []
        for ord_, op in enumerate(batch):
            ref = op.ref
            owners[ref.instance_id] = ref.epoch
            if op.claimed:
                claims.append(ref.instance_id)
                claim_ords.append(ord_)
            if op.kind == _START:
                start: RunStart = op.record
                self._starts[start.run_id] = (ref, start)
                full[start.run_id] = [
                    start.run_id, ref.instance_id, start.activity, start.parent_run, start.item,
                    start.attempt, "running", _EMPTY_LIST, start.lineage, start.started_at,
                    None, None, ord_, None, None,
                ]
            elif op.kind == _RESULT:
                result: RunResult = op.record
                row = full.get(result.run_id)
                if row is None:
                    known = self._starts.get(result.run_id)
                    if known is None:
                        partial.append((ord_, ref, result))
                        continue
                    _, start = known
                    row = full[result.run_id] = [
                        start.run_id, ref.instance_id, start.activity, start.parent_run,
                        start.item, start.attempt, "running", _EMPTY_LIST, start.lineage,
                        start.started_at, None, None, None, None, None,
                    ]
                row[6] = result.status
                row[7] = msgspec.Raw(_encode(result.published))
                row[10] = result.ended_at
                row[11] = result.error
                row[13] = ord_
                row[14] = result.returned_data
            else:
                outcomes.append((ord_, ref, op.record))
        rows = list(full.values())
        cols = list(zip(*rows, strict=True)) if rows else [()] * 15
        running = self._running_after(len(outcomes)) if outcomes else None
        return [
            self.server,
            list(owners),
            list(owners.values()),
            list(cols[0]),
            list(cols[1]),
            list(cols[2]),
            list(cols[3]),
            list(cols[4]),
            list(cols[5]),
            list(cols[6]),
            list(cols[7]),
            list(cols[8]),
            list(cols[9]),
            list(cols[10]),
            list(cols[11]),
            list(cols[12]),
            list(cols[13]),
            list(cols[14]),
            [r.run_id for _, _, r in partial],
            [ref.instance_id for _, ref, _ in partial],
            [r.status for _, _, r in partial],
            [msgspec.Raw(_encode(r.published)) for _, _, r in partial],
            [r.ended_at for _, _, r in partial],
            [r.error for _, _, r in partial],
            [o for o, _, _ in partial],
            [r.returned_data for _, _, r in partial],
            [ref.instance_id for _, ref, _ in outcomes],
            [o.status for _, _, o in outcomes],
            [msgspec.Raw(_encode(o.returned_data)) for _, _, o in outcomes],
            [o.ended_at for _, _, o in outcomes],
            [o.error for _, _, o in outcomes],
            [n for n, _, _ in outcomes],
            running,
            claims,
            claim_ords,
        ]


def _usable(conn: asyncpg.Connection) -> bool:
    """Still ours and open: not closed, not released back to the pool (after which
    even ``is_closed()`` raises)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


_encode = msgspec.json.encode
_EMPTY_LIST = msgspec.Raw(b"[]")

_KEYS = ("run_id", "instance_id", "activity", "parent_run", "item", "attempt", "status",
         "published", "lineage", "started_at", "ended_at", "error", "start_ord", "result_ord",
         "returned_data")
"""``write_runs_json``'s column names, in the order of ``_arguments``' run columns."""


def _runs_json(cols: list[list[Any]]) -> bytes:
    """The runs of a batch as one JSON document (objects named like ``write_runs_json``'s
    columns; ``lineage`` bytes become base64): one msgspec call, where fifteen arrays
    cost asyncpg an ``isinstance`` check and an encoder call per element (3× the CPU
    for a 600-run batch)."""
    return _encode([dict(zip(_KEYS, row, strict=True)) for row in zip(*cols, strict=True)])
