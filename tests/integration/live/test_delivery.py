"""The gateway measures each event's delivery itself: commit (or read) → written to every socket."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time

import asyncpg

from orch.db.connect import create_pool
from orch.db.embedded import EmbeddedPostgres
from orch.db.migrate import migrate
from orch.gateway.live import delivery
from orch.gateway.live.events import FeedEvent
from orch.gateway.live.reader import EventReader
from tests.integration.gateway.conftest import ADMIN_TOKEN
from tests.integration.live.conftest import eventually
from tests.integration.live.test_feed import insert_events, through


def observed(label: str) -> float:
    return sum(delivery.DELIVERY_SECONDS.series(label)[:-1])


async def test_each_event_counts_once_when_every_socket_has_written_it(gateways) -> None:
    gw = await gateways()
    sockets = [await gw.socket() for _ in range(3)]
    for s in sockets:
        await s.subscribe(all=True)
    before = observed("read")  # the test database does not track commit timestamps
    seqs = await insert_events(gw, 120, per_commit=10)
    for s in sockets:
        await s.events_until(through(seqs[-1]))
    # 120 events, three sockets each: 120 observations (the last socket's write), not 360
    await eventually(lambda: observed("read") >= before + 120)
    await asyncio.sleep(0.05)  # nothing more may follow
    assert observed("read") == before + 120
    async with gw.http.get(f"{gw.url}/metrics",
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as resp:
        assert resp.status == 200
        text = await resp.text()
    assert 'orch_live_delivery_seconds_bucket{from="read",le="0.1"}' in text


async def test_with_commit_timestamps_the_delay_starts_at_the_commit() -> None:
    folder = tempfile.mkdtemp(prefix="orch-test-pg-commit-ts-")
    pg = EmbeddedPostgres(folder, server_options={"fsync": "off",
                                                  "track_commit_timestamp": "on"})
    await pg.start()
    try:
        await migrate(pg.dsn)
        pool = await create_pool(pg.dsn, min_size=1, max_size=3)
        got: list[FeedEvent] = []
        reader = EventReader(pool, got.extend)
        try:
            async with asyncio.TaskGroup() as tg:
                task = tg.create_task(reader.run())
                await asyncio.wait_for(reader.ready.wait(), 20)
                conn = await asyncpg.connect(pg.dsn)
                try:
                    async with conn.transaction():
                        await conn.execute("INSERT INTO events (kind, status) "
                                           "SELECT 'job', 'x' FROM generate_series(1, 5)")
                        before_commit = time.time()
                    after_commit = time.time()
                finally:
                    await conn.close()
                await eventually(lambda: len(got) >= 5)
                task.cancel()
        finally:
            await pool.close()
    finally:
        await pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
    assert all(e.from_commit for e in got)
    assert len({e.committed for e in got}) == 1  # one transaction, one commit time
    # the commit's own clock, between the last statement and COMMIT's return
    assert before_commit - 0.05 <= got[0].committed <= after_commit + 0.05
