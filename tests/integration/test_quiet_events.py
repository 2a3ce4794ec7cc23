"""Quiet commits: a group commit that follows a notifying one closely sends no NOTIFY,
and the live feed's reader finds its events by polling (orch/db/feed_wake.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg

from actors.store import InstanceRef, RunResult, RunStart
from orch.gateway.live.events import FeedEvent
from orch.gateway.live.reader import EventReader, ReaderOptions
from tests.integration.helpers import claimed_instance, eventually, running_writer

_marks = itertools.count()


class Heard:
    """What ``LISTEN orch_events`` heard, read up to a marker notification."""

    def __init__(self, conn: asyncpg.Connection, other: asyncpg.Connection) -> None:
        self.conn, self.other = conn, other
        self.payloads: list[str] = []
        self.arrived = asyncio.Event()

    def heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.payloads.append(payload)
        self.arrived.set()

    async def since_last(self) -> list[str]:
        """The notifications heard since the last call: a marker notified now arrives
        after every notification of a commit that ended before it."""
        mark = f"mark-{next(_marks)}"
        await self.other.execute("SELECT pg_notify('orch_events', $1)", mark)
        deadline = time.monotonic() + 10
        while mark not in self.payloads:
            assert time.monotonic() < deadline, "the marker notification never came"
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 1)
        before = self.payloads[: self.payloads.index(mark)]
        self.payloads = self.payloads[self.payloads.index(mark) + 1:]
        return before


    async def woken(self) -> bool:
        """Whether a wake-up (not a marker) was heard; takes it."""
        if "" in self.payloads:
            self.payloads.remove("")
            return True
        return False


@contextlib.asynccontextmanager
async def listening(pool: asyncpg.Pool) -> AsyncIterator[Heard]:
    async with pool.acquire() as conn, pool.acquire() as other:
        heard = Heard(conn, other)
        await conn.add_listener("orch_events", heard.heard)
        try:
            yield heard
        finally:
            await conn.remove_listener("orch_events", heard.heard)


async def _insert_event(conn: asyncpg.Connection, *, quiet: bool) -> int:
    async with conn.transaction():
        if quiet:
            await conn.execute("SELECT set_config('orch.events_quiet', 'on', true)")
        return await conn.fetchval(
            "INSERT INTO events (kind, job_id, status) VALUES ('job', $1, 'queued')"
            " RETURNING seq", uuid.uuid4())


def _run() -> tuple[RunStart, RunResult]:
    now = datetime.now(UTC)
    start = RunStart(run_id=str(uuid.uuid4()), activity="a", parent_run=None, item=0,
                     started_at=now, lineage=b"")
    return start, RunResult(run_id=start.run_id, activity="a", status="success",
                            published=[], ended_at=now)


async def test_a_statement_marked_quiet_does_not_notify_and_only_for_its_transaction(
    pool: asyncpg.Pool,
) -> None:
    async with listening(pool) as heard, pool.acquire() as conn:
        await _insert_event(conn, quiet=True)
        assert await heard.since_last() == []
        await _insert_event(conn, quiet=False)  # the setting ended with its transaction
        assert await heard.since_last() == [""]


async def test_only_on_makes_a_statement_quiet(pool: asyncpg.Pool) -> None:
    async with listening(pool) as heard, pool.acquire() as conn:
        for value in ("off", "yes", "ON ", ""):
            async with conn.transaction():
                await conn.execute("SELECT set_config('orch.events_quiet', $1, true)", value)
                await conn.execute("INSERT INTO events (kind, status) VALUES ('job', 'queued')")
            assert await heard.since_last() == [""], value


async def test_the_writer_notifies_then_stays_quiet_for_its_window(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    async with listening(pool) as heard, \
            running_writer(pool, quiet_seconds=30) as (writer, store):
        await heard.since_last()  # nothing of the claim's
        for expected in ([""], [], []):
            start, result = _run()
            await store.record_run_start(ref, start, durable=False)
            await store.record_run_result(ref, result)
            assert await heard.since_last() == expected
        assert writer.quiet == 2
    async with pool.acquire() as conn:  # quiet, not lost: every run and its events are there
        assert await conn.fetchval(
            "SELECT count(*) FROM events WHERE instance_id = $1 AND kind = 'activity'",
            uuid.UUID(ref.instance_id)) == 6


async def test_a_batch_of_more_than_one_run_always_notifies(pool: asyncpg.Pool) -> None:
    """Quiet is for a lone instance's steps: a larger batch shares its NOTIFY, and
    under load the readers are woken at once."""
    ref = await claimed_instance(pool)
    async with listening(pool) as heard, \
            running_writer(pool, quiet_seconds=30) as (writer, store):
        start, result = _run()
        await store.record_run_start(ref, start, durable=False)
        await store.record_run_result(ref, result)
        assert await heard.since_last() == [""]
        written = []
        for _ in range(2):  # one batch of two runs, within the quiet window
            start, result = _run()
            writer.submit_start(ref, start, durable=False)
            written.append(writer.submit_result(ref, result))
        await asyncio.gather(*written)
        assert await heard.since_last() == [""]
        assert writer.quiet == 0


async def test_a_writer_without_a_quiet_window_notifies_every_commit(pool: asyncpg.Pool) -> None:
    ref = await claimed_instance(pool)
    async with listening(pool) as heard, \
            running_writer(pool, quiet_seconds=0) as (writer, store):
        await heard.since_last()
        for _ in range(3):
            start, result = _run()
            await store.record_run_start(ref, start, durable=False)
            await store.record_run_result(ref, result)
            assert await heard.since_last() == [""]
        assert writer.quiet == 0


@contextlib.asynccontextmanager
async def _held_up(pool: asyncpg.Pool, heard: Heard, ref: InstanceRef) -> AsyncIterator[None]:
    """The instance's row locked until exit: a write of it waits; on exit once it
    does (and ``LATE`` seconds have passed: the threshold under test is a time)."""
    async with pool.acquire() as blocker, blocker.transaction():
        await blocker.execute("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                              uuid.UUID(ref.instance_id))
        yield
        await _waiting(heard)
        await asyncio.sleep(LATE)


async def _waiting(heard: Heard) -> None:
    """Until a write of the runbook server is waiting for a lock."""
    async def blocked() -> bool:
        return bool(await heard.other.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query LIKE '%WITH owners AS%'"
            "    OR wait_event_type = 'Lock' AND query LIKE '%One run of one instance%'"))

    await eventually(blocked, timeout=10)


LATE = 0.2


async def test_a_quiet_commit_that_ends_late_is_notified_by_the_idle_writer(
    pool: asyncpg.Pool,
) -> None:
    """Sent quiet, it ended later than readers surely poll after the last wake-up
    (a lock held it up), and nothing came after it: the writer notifies on its own."""
    ref = await claimed_instance(pool)
    async with listening(pool) as heard, \
            running_writer(pool, quiet_seconds=30) as (writer, store):
        writer.late_seconds = LATE
        start, result = _run()
        await store.record_run_start(ref, start, durable=False)
        await store.record_run_result(ref, result)
        assert await heard.since_last() == [""]
        async with _held_up(pool, heard, ref):
            start, result = _run()
            writer.submit_start(ref, start, durable=False)  # one batch, as before
            written = writer.submit_result(ref, result)
        await written
        await eventually(heard.woken, timeout=10)
        assert writer.quiet == 1


async def test_a_quiet_commit_that_ends_late_makes_the_next_batch_notify(
    pool: asyncpg.Pool,
) -> None:
    ref = await claimed_instance(pool)
    async with listening(pool) as heard, \
            running_writer(pool, quiet_seconds=30) as (writer, store):
        writer.late_seconds = LATE
        start, result = _run()
        await store.record_run_start(ref, start, durable=False)
        await store.record_run_result(ref, result)
        assert await heard.since_last() == [""]
        async with _held_up(pool, heard, ref):
            start, result = _run()
            writer.submit_start(ref, start, durable=False)
            late = writer.submit_result(ref, result)
            await _waiting(heard)
            start, result = _run()  # queued behind it (its instance's batch is in flight)
            writer.submit_start(ref, start, durable=False)
            after = writer.submit_result(ref, result)
        await late
        await after
        assert writer.quiet == 1  # the late one; the next one notified
        assert await heard.since_last() == [""]


async def test_the_reader_finds_a_quiet_commit_by_polling_after_a_wake_up(
    pool: asyncpg.Pool,
) -> None:
    published: list[FeedEvent] = []
    # no idle poll within the test: without the polling after a wake-up the quiet
    # commit's event would wait a minute
    async with _reading(pool, published, ReaderOptions(idle_poll=60)):
        async with pool.acquire() as conn:
            loud = await _insert_event(conn, quiet=False)
            await eventually(lambda: _has(published, loud), timeout=10)
            quiet = await _insert_event(conn, quiet=True)
            await eventually(lambda: _has(published, quiet), timeout=10)
        assert [e.seq for e in published] == [loud, quiet]


async def test_the_reader_stops_polling_once_nothing_new_came_for_its_window(
    pool: asyncpg.Pool,
) -> None:
    published: list[FeedEvent] = []
    options = ReaderOptions(idle_poll=60, hot_for=0.2, hot_poll=0.01)
    async with _reading(pool, published, options) as reader:
        async with pool.acquire() as conn:
            seq = await _insert_event(conn, quiet=False)
        await eventually(lambda: _has(published, seq), timeout=10)
        await asyncio.sleep(options.hot_for + 0.1)  # the window under test is a time
        polls = reader.polls
        await asyncio.sleep(0.3)
        assert reader.polls == polls  # idle again: waiting for a notification


@contextlib.asynccontextmanager
async def _reading(
    pool: asyncpg.Pool, published: list[FeedEvent], options: ReaderOptions
) -> AsyncIterator[EventReader]:
    """A gateway's event reader, running and ready, publishing into ``published``."""
    reader = EventReader(pool, published.extend, options)
    task = asyncio.create_task(reader.run())
    try:
        await asyncio.wait_for(reader.ready.wait(), 10)
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _has(published: list[FeedEvent], seq: int) -> bool:
    return any(e.seq == seq for e in published)
