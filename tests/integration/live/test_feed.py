"""The live feed end to end: a real gateway, a real runbook server, real websockets."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.gateway.conftest import document
from tests.integration.helpers import running_server
from tests.integration.live.conftest import FINAL, Gateway

EVENT_FIELDS = {"seq", "kind", "at", "runbook_id", "job_id", "instance_id", "activity", "run_id",
                "status", "server", "error"}


def job_done(job_id: str):
    def done(events: list[dict[str, Any]]) -> bool:
        return any(e["kind"] == "job" and e["job_id"] == job_id and e["status"] in FINAL
                   for e in events)
    return done


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(e["kind"], e["activity"], e["status"]) for e in events]


async def table(gw: Gateway, job_id: str | None = None, after: int = 0) -> list[int]:
    async with gw.pool.acquire() as conn:
        return [r[0] for r in await conn.fetch(
            "SELECT seq FROM events WHERE kind IN ('job', 'instance', 'activity') AND seq > $2 "
            "AND ($1::uuid IS NULL OR job_id = $1::uuid) ORDER BY seq", job_id, after)]


async def test_subscribe_then_run_gives_exactly_the_runs_events_in_order(gateways, dsn) -> None:
    gw = await gateways()
    created = await gw.client.check_in(document())
    socket = await gw.socket()
    subscribed = await socket.subscribe(all=True)
    assert subscribed["all"] is True and subscribed["subscription"] == "1"
    assert subscribed["after"] is None and isinstance(subscribed["last_seq"], int)
    async with running_server(dsn):
        job = await gw.client.start_job("/Examples/Hello", {"Name": "feed"})
        frames: list[dict[str, Any]] = []
        events = await socket.events_until(job_done(job.id), frames=frames)
    assert all(f["subscription"] == "1" for f in frames)
    assert all(set(e) == EVENT_FIELDS for e in events)
    assert summary(events) == [
        ("job", None, "queued"),
        ("job", None, "running"),
        ("instance", None, "running"),
        ("activity", "start", "running"),
        ("activity", "start", "success"),
        ("activity", "greet", "running"),
        ("activity", "greet", "success"),
        ("activity", "done", "running"),
        ("activity", "done", "success"),
        ("instance", None, "success"),
        ("job", None, "success"),
    ]
    assert {e["job_id"] for e in events} == {job.id}
    assert {e["runbook_id"] for e in events} == {created.id}
    instance = (await gw.client.get_job(job.id)).instance_id
    assert {e["instance_id"] for e in events[1:-1]} == {instance}
    assert events[2]["server"] == "s1"
    seqs = [e["seq"] for e in events]
    assert seqs == await table(gw, job.id)  # every event of the job, once, in order
    assert seqs[0] > subscribed["last_seq"]


async def insert_events(gw: Gateway, n: int, *, status: str = "x", activity: str | None = None,
                        per_commit: int = 100) -> list[int]:
    """``n`` events written straight into the table (as any writer would), committed in chunks."""
    seqs: list[int] = []
    async with gw.pool.acquire() as conn:
        for start in range(0, n, per_commit):
            rows = await conn.fetch(
                "INSERT INTO events (kind, status, activity) "
                "SELECT 'activity', $1, $2 FROM generate_series(1, $3) ORDER BY 1 RETURNING seq",
                status, activity, min(per_commit, n - start))
            seqs.extend(sorted(r[0] for r in rows))
    return seqs


def through(seq: int):
    return lambda events: bool(events) and events[-1]["seq"] >= seq


async def test_job_and_runbook_subscriptions_replay_then_go_live(gateways, dsn) -> None:
    gw = await gateways()
    hello = await gw.client.check_in(document())
    await gw.client.check_in(document(name="Other"))
    async with running_server(dsn):
        first = await gw.client.start_job("/Examples/Hello", {"Name": "1"})
        watch = await gw.socket()
        await watch.subscribe(all=True)
        await watch.events_until(job_done(first.id))

        socket = await gw.socket()
        job_sub = await socket.subscribe(job=first.id, after=0, id="first-job")
        assert job_sub["subscription"] == "first-job" and job_sub["job"] == first.id
        replayed = await socket.events_until(job_done(first.id))
        assert [e["seq"] for e in replayed] == await table(gw, first.id)

        rb_sub = await socket.subscribe(runbook="/Examples/Hello")
        assert rb_sub["runbook"] == hello.id and rb_sub["after"] is None
        second = await gw.client.start_job("/Examples/Hello", {"Name": "2"})
        other = await gw.client.start_job("/Examples/Other", {"Name": "3"})
        frames: list[dict[str, Any]] = []
        live = await socket.events_until(job_done(second.id), frames=frames)
        await watch.events_until(job_done(other.id))
    assert {f["subscription"] for f in frames} == {rb_sub["subscription"]}
    assert {e["job_id"] for e in live} == {second.id}
    assert [e["seq"] for e in live] == await table(gw, second.id)

    await socket.send({"unsubscribe": {"subscription": "first-job"}})
    assert await socket.frame() == {"type": "unsubscribed", "subscription": "first-job"}
    await socket.send({"unsubscribe": {"runbook": "/Examples/Hello"}})
    assert (await socket.frame())["type"] == "unsubscribed"
    await socket.send({"unsubscribe": {"subscription": "first-job"}})
    gone = await socket.frame()
    assert gone["type"] == "error" and gone["error"]["code"] == "not-found"


async def test_resume_after_a_dropped_connection_has_no_gap_and_no_duplicate(gateways) -> None:
    gw = await gateways()
    socket = await gw.socket()
    head = (await socket.subscribe(all=True))["last_seq"]
    first = await insert_events(gw, 300, per_commit=7)
    received = await socket.events_until(lambda ev: len(ev) >= 120)
    socket.ws._conn.transport.abort()  # the connection drops mid-stream
    more = await insert_events(gw, 200, per_commit=11)
    last = received[-1]["seq"]

    again = await gw.socket()
    resumed = await again.subscribe(all=True, after=last)
    assert resumed["after"] == last
    rest = await again.events_until(through(more[-1]))
    seqs = [e["seq"] for e in received + rest]
    assert seqs == first + more == await table(gw, after=head)
    assert len(set(seqs)) == len(seqs)


async def test_two_gateways_each_deliver_every_event(gateways, dsn) -> None:
    one, two = await gateways(), await gateways()
    await one.client.check_in(document())
    a, b = await one.socket(), await two.socket()
    await a.subscribe(all=True)
    await b.subscribe(all=True)
    async with running_server(dsn):
        jobs = [await (one if i % 2 else two).client.start_job("/Examples/Hello", {"Name": str(i)})
                for i in range(4)]

        def all_done(events: list[dict[str, Any]]) -> bool:
            return all(job_done(j.id)(events) for j in jobs)

        got_a = await a.events_until(all_done)
        got_b = await b.events_until(all_done)
    assert [e["seq"] for e in got_a] == [e["seq"] for e in got_b]
    assert got_a == got_b
    assert len(got_a) == 4 * 11


async def test_a_late_commit_is_delivered_in_order_not_skipped(gateways, dsn) -> None:
    import asyncpg

    gw = await gateways()
    socket = await gw.socket()
    head = (await socket.subscribe(all=True))["last_seq"]
    reader = gw.feed.reader
    slow = await asyncpg.connect(dsn)
    try:
        for outcome in ("commit", "rollback"):
            transaction = slow.transaction()
            await transaction.start()
            late = await slow.fetchval(
                "INSERT INTO events (kind, status) VALUES ('job', 'late') RETURNING seq")
            early = (await insert_events(gw, 2, status="early", per_commit=1))[-1]
            assert early > late
            # the reader has seen the early events and polled on: it still holds them back
            await _polled_past(gw, early)
            await socket.nothing(0.1)
            assert reader.tracker is not None and reader.tracker.last < late

            # a subscriber arriving meanwhile replays up to where the feed is, then waits too
            other = await gw.socket()
            await other.subscribe(all=True, after=head)

            if outcome == "commit":
                await transaction.commit()
                expected = [(late, "late"), (early - 1, "early"), (early, "early")]
            else:
                await transaction.rollback()
                expected = [(early - 1, "early"), (early, "early")]
            got = await socket.events_until(through(early))
            assert [(e["seq"], e["status"]) for e in got] == expected, outcome
            replayed = await other.events_until(through(early))
            assert [e["seq"] for e in replayed] == await table(gw, after=head)
            head = early
    finally:
        await slow.close()


async def _polled_past(gw: Gateway, seq: int) -> None:
    from tests.integration.live.conftest import eventually

    reader = gw.feed.reader
    await eventually(lambda: reader.tracker is not None and reader.tracker.hi >= seq)
    polls = reader.polls
    await eventually(lambda: reader.polls >= polls + 3)


async def test_a_slow_client_gets_lagged_and_its_queue_stays_bounded(gateways) -> None:
    from orch.gateway.live import LiveOptions, ReaderOptions

    limit, batch = 200, 50
    # (a client that reads nothing answers no ping either: keep heartbeats out of it)
    gw = await gateways(LiveOptions(queue_events=limit, frame_events=50, heartbeat=600,
                                    reader=ReaderOptions(batch=batch)))
    slow = await gw.socket()
    head = (await slow.subscribe(all=True))["last_seq"]
    (server_side,) = gw.feed.sockets

    fat = "x" * 8000
    writing = asyncio.create_task(insert_events(gw, 2500, activity=fat))
    most = 0
    while gw.feed.lagged == 0 and not writing.done():
        most = max(most, server_side.queued)
        await asyncio.sleep(0.002)
    seqs = await writing
    assert gw.feed.lagged == 1, "the slow client never lagged"
    assert most <= limit + batch and server_side.queued == 0
    assert server_side.subs == {}

    got: list[dict[str, Any]] = []
    while True:
        frame = await slow.frame()
        if frame["type"] == "lagged":
            break
        assert frame["type"] == "events"
        got.extend(frame["events"])
    assert frame["subscription"] == "1"
    assert frame["last_seq"] == (got[-1]["seq"] if got else head)
    everything = await table(gw, after=head)
    assert [e["seq"] for e in got] == everything[: len(got)]  # what came has no gap
    assert len(got) < len(everything)

    await slow.subscribe(all=True, after=frame["last_seq"])
    rest = await slow.events_until(through(seqs[-1]), timeout=60)
    assert [e["seq"] for e in got + rest] == everything


async def test_a_subscriber_ahead_of_the_gateway_skips_what_it_has(gateways) -> None:
    gw = await gateways()
    socket = await gw.socket()
    head = (await gw.socket())
    start = (await head.subscribe(all=True))["last_seq"]
    await socket.subscribe(all=True, after=start + 2)
    seqs = await insert_events(gw, 4, per_commit=1)
    got = await socket.events_until(through(seqs[-1]))
    assert [e["seq"] for e in got] == [s for s in seqs if s > start + 2]


async def test_notifications_are_replayed_like_every_kind_the_feed_carries(gateways) -> None:
    gw = await gateways()
    socket = await gw.socket()
    head = (await socket.subscribe(all=True))["last_seq"]
    async with gw.pool.acquire() as conn:
        seqs = [r[0] for r in await conn.fetch(
            "INSERT INTO events (kind, status) VALUES ('notification', 'runs_longer'), "
            "('server', 'up'), ('activity', 'x') RETURNING seq")]
    live = await socket.events_until(through(seqs[-1]))
    again = await gw.socket()
    await again.subscribe(all=True, after=head)
    replayed = await again.events_until(through(seqs[-1]))
    assert [e["kind"] for e in live] == [e["kind"] for e in replayed] == [
        "notification", "activity"]


async def test_subscriptions_wait_for_writers_in_flight_when_the_gateway_started(gateways,
                                                                                 dsn) -> None:
    import asyncpg

    slow = await asyncpg.connect(dsn)
    try:
        transaction = slow.transaction()
        await transaction.start()
        late = await slow.fetchval(
            "INSERT INTO events (kind, status) VALUES ('job', 'late') RETURNING seq")
        other = await asyncpg.connect(dsn)
        try:
            early = await other.fetchval(
                "INSERT INTO events (kind, status) VALUES ('job', 'early') RETURNING seq")
        finally:
            await other.close()
        gw = await gateways()  # starts after `early`, with `late` in flight below it
        socket = await gw.socket()
        await socket.send({"subscribe": {"all": True}})
        polls = gw.feed.reader.polls
        from tests.integration.live.conftest import eventually

        await eventually(lambda: gw.feed.reader.polls >= polls + 3)
        await socket.nothing(0.1)  # not subscribed yet: its position would not be settled
        await transaction.commit()
        subscribed = await socket.frame()
        assert subscribed["type"] == "subscribed" and subscribed["last_seq"] >= early > late
        replay = await gw.socket()
        await replay.subscribe(all=True, after=late - 1)
        got = await replay.events_until(through(early))
        assert [e["seq"] for e in got] == [late, early]
    finally:
        await slow.close()
