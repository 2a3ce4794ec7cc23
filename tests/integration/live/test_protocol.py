"""The live feed's protocol edges: malformed messages, rights, limits, heartbeats, shutdown."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import msgspec

from orch.api.live import EventsFrame, LiveFrame, SubscribedFrame
from orch.gateway.live import LiveOptions
from orch.live import connect, follow
from tests.integration.gateway.conftest import document
from tests.integration.live.conftest import eventually
from tests.integration.live.test_feed import insert_events

MISSING = "00000000-0000-4000-8000-000000000000"


async def test_malformed_and_invalid_messages_get_error_frames(gateways) -> None:
    gw = await gateways(LiveOptions(max_subscriptions=2))
    socket = await gw.socket()
    cases = [
        ("{not json", "malformed-json", None),
        ('{"subscribe": {"all": true, "bogus": 1}}', "invalid-message", "$.subscribe.bogus"),
        ('{"subscribe": {"all": true, "after": -1}}', "invalid-message", "$.subscribe.after"),
        ('{"subscribe": {"all": true, "job": "x"}}', "invalid-message", "$.subscribe"),
        ('{"subscribe": {}}', "invalid-message", "$.subscribe"),
        ("{}", "invalid-message", "$"),
        ('{"subscribe": {"all": true}, "unsubscribe": {"all": true}}', "invalid-message", "$"),
        ('{"subscribe": {"job": "not-a-uuid"}}', "not-found", "$.subscribe.job"),
        (f'{{"subscribe": {{"job": "{MISSING}"}}}}', "not-found", "$.subscribe.job"),
        ('{"subscribe": {"runbook": "/Nope"}}', "not-found", "$.subscribe.runbook"),
        ('{"subscribe": {"all": true, "id": "has space"}}', "invalid-message",
         "$.subscribe.id"),
        ('{"unsubscribe": {"subscription": "7"}}', "not-found",
         "$.unsubscribe.subscription"),
        ('{"unsubscribe": {}}', "invalid-message", "$.unsubscribe"),
        ("[1, 2]", "invalid-message", "$"),
    ]
    for text, code, path in cases:
        await socket.ws.send_str(text)
        frame = await socket.frame()
        assert frame["type"] == "error", text
        assert frame["error"]["code"] == code, (text, frame)
        assert frame["error"]["path"] == path, (text, frame)
    await socket.ws.send_bytes(b'{"subscribe": {"all": true}}')
    assert (await socket.frame())["error"]["code"] == "invalid-message"

    await socket.subscribe(all=True, id="a")
    await socket.send({"subscribe": {"all": True, "id": "a"}})
    assert (await socket.frame())["error"]["path"] == "$.subscribe.id"
    await socket.subscribe(all=True)
    await socket.send({"subscribe": {"all": True}})
    assert (await socket.frame())["error"]["code"] == "too-many-subscriptions"
    # the socket still works after all that
    seqs = await insert_events(gw, 1)
    frames = [await socket.frame(), await socket.frame()]
    assert {f["subscription"] for f in frames} == {"a", "1"}
    assert all(f["events"][0]["seq"] == seqs[0] for f in frames)


async def test_rights_are_checked_per_subscription(gateways) -> None:
    gw = await gateways()
    await gw.client.check_in(document())
    job = await gw.client.start_job("/Examples/Hello", {"Name": "x"})
    operator = f"orch_op-{uuid.uuid4().hex}"
    async with gw.pool.acquire() as conn:
        user = uuid.uuid4()
        await conn.execute("INSERT INTO users (id, name) VALUES ($1, 'op')", user)
        import hashlib

        await conn.execute("INSERT INTO tokens (id, user_id, name, token_hash) "
                           "VALUES ($1, $2, 't', $3)", uuid.uuid4(), user,
                           hashlib.sha256(operator.encode()).hexdigest())
    socket = await gw.socket(token=operator)
    # an operator granted nothing may follow `all` (it carries only what it may view) ...
    await socket.send({"subscribe": {"all": True}})
    assert (await socket.frame())["type"] == "subscribed"
    # ... but a job or runbook it may not view is unknown to it
    for spec in ({"job": job.id}, {"runbook": "/Examples/Hello"}):
        await socket.send({"subscribe": spec})
        frame = await socket.frame()
        assert frame["type"] == "error" and frame["error"]["code"] == "not-found", (spec, frame)

    for token in (None, "orch_wrong"):
        try:
            await gw.socket(token=token)
        except aiohttp.WSServerHandshakeError as e:
            assert e.status == 401
        else:
            raise AssertionError("a websocket without credentials was accepted")


async def test_frames_decode_as_the_api_types(gateways) -> None:
    gw = await gateways()
    socket = await gw.socket()
    await socket.send({"subscribe": {"all": True}})
    decoder = msgspec.json.Decoder(LiveFrame)
    first = decoder.decode((await socket.ws.receive()).data)
    assert isinstance(first, SubscribedFrame)
    await insert_events(gw, 3, per_commit=3)
    frame = decoder.decode((await socket.ws.receive()).data)
    assert isinstance(frame, EventsFrame) and len(frame.events) == 3
    assert frame.events[0].kind == "activity" and frame.events[0].status == "x"


async def test_dead_sockets_are_closed_by_heartbeats(gateways) -> None:
    gw = await gateways(LiveOptions(heartbeat=0.2))
    ws = await gw.http.ws_connect(f"{gw.url}/api/v1/live", autoping=False,
                                  headers={"Authorization": f"Bearer {gw.client.token}"})
    gw.sockets.append(ws)
    await eventually(lambda: len(gw.feed.sockets) == 1)
    await eventually(lambda: len(gw.feed.sockets) == 0, timeout=10)  # no pong: closed
    alive = await gw.socket(heartbeat=0.1)  # a client that answers pings stays
    await alive.subscribe(all=True)
    polls = gw.feed.reader.polls
    await eventually(lambda: gw.feed.reader.polls > polls + 2)
    await alive.nothing(0.6)
    assert len(gw.feed.sockets) == 1


async def test_shutdown_closes_every_socket(gateways) -> None:
    gw = await gateways()
    sockets = [await gw.socket() for _ in range(3)]
    for s in sockets:
        await s.subscribe(all=True)
    reading = [asyncio.create_task(s.ws.receive()) for s in sockets]
    await gw.stop()
    for s, msg in zip(sockets, await asyncio.gather(*reading), strict=True):
        assert msg.type == aiohttp.WSMsgType.CLOSE, msg
        assert s.ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    assert not gw.feed.sockets


async def test_follow_resumes_after_lag_and_drops(gateways) -> None:
    """orch.live.follow: one subscription's events, in order, across a lag and a drop."""
    from orch.gateway.live import ReaderOptions

    gw = await gateways(LiveOptions(queue_events=10, reader=ReaderOptions(batch=5)))
    head = await insert_events(gw, 1)
    got: list[int] = []
    seqs = await insert_events(gw, 60, per_commit=3)
    async for event in follow(gw.client, all=True, after=head[-1], retry_seconds=0.05):
        got.append(event.seq)
        if len(got) == 20:
            for socket in list(gw.feed.sockets):  # the server drops the connection
                await socket.ws.close()
        if event.seq == seqs[-1]:
            break
    assert got == seqs


async def test_the_cli_client_gets_compressed_frames(gateways) -> None:
    """orch.live.connect (the CLI's follow) offers permessage-deflate: the gateway
    accepts, and its compressed shared frames decode as the API types."""
    gw = await gateways()
    async with connect(gw.client) as live:
        assert live.ws.compress == 15  # negotiated (0 when the offer was declined)
        await live.ws.send_json({"subscribe": {"all": True}})
        decoder = msgspec.json.Decoder(LiveFrame)
        assert isinstance(decoder.decode((await live.ws.receive()).data), SubscribedFrame)
        seqs = await insert_events(gw, 40, per_commit=40)
        got: list[int] = []
        while len(got) < len(seqs):
            frame = decoder.decode((await live.ws.receive()).data)
            assert isinstance(frame, EventsFrame)
            got += [e.seq for e in frame.events]
    assert got == seqs
