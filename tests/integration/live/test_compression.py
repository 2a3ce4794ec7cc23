"""permessage-deflate on the live feed: negotiated per socket, each shared frame compressed once."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from typing import Any

from yarl import URL

from orch.gateway.live import delivery
from orch.gateway.live.deflate import inflate
from tests.integration.gateway.conftest import ADMIN_TOKEN
from tests.integration.live.conftest import eventually
from tests.integration.live.test_feed import insert_events

CHROMIUM_OFFER = "permessage-deflate; client_max_window_bits"


class RawSocket:
    """A websocket spoken by hand, to see the handshake's headers and each frame's RSV1."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 headers: dict[str, str]) -> None:
        self.reader = reader
        self.writer = writer
        self.headers = headers

    @classmethod
    async def open(cls, url: str, offer: str | None) -> RawSocket:
        u = URL(url)
        reader, writer = await asyncio.open_connection(u.host, u.port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /api/v1/live HTTP/1.1", f"Host: {u.host}:{u.port}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", f"Authorization: Bearer {ADMIN_TOKEN}"]
        if offer is not None:
            lines.append(f"Sec-WebSocket-Extensions: {offer}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)).decode()
        status, *fields = head.strip().split("\r\n")
        assert status.startswith("HTTP/1.1 101"), head
        headers = {}
        for field in fields:
            name, _, value = field.partition(":")
            headers[name.strip().lower()] = value.strip()
        return cls(reader, writer, headers)

    async def send(self, message: Any) -> None:
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        assert len(data) < 126
        self.writer.write(bytes([0x81, 0x80 | len(data)]) + mask + masked)
        await self.writer.drain()

    async def frame(self, timeout: float = 15.0) -> tuple[bool, dict[str, Any]]:
        """(RSV1 set, the message as JSON) of the next text frame."""
        async with asyncio.timeout(timeout):
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(length)
        assert first & 0x80 and first & 0x0F == 0x1, hex(first)  # FIN, text
        assert not second & 0x80  # a server never masks
        compressed = bool(first & 0x40)
        return compressed, json.loads(inflate(payload) if compressed else payload)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def observed(label: str) -> float:
    return sum(delivery.DELIVERY_SECONDS.series(label)[:-1])


async def test_compressed_and_plain_sockets_each_get_every_event_once_in_order(gateways) -> None:
    gw = await gateways()
    packed = await gw.socket(compress=15)  # aiohttp's client: it inflates by itself
    plain = await gw.socket()
    assert packed.ws.compress == 15 and plain.ws.compress == 0
    raw = await RawSocket.open(gw.url, CHROMIUM_OFFER)  # what Chromium offers
    bare = await RawSocket.open(gw.url, None)
    try:
        answer = raw.headers["sec-websocket-extensions"]
        assert answer.split("; ")[0] == "permessage-deflate"
        assert "server_no_context_takeover" in answer.split("; ")
        assert "sec-websocket-extensions" not in bare.headers
        for s in (packed, plain):
            await s.subscribe(all=True)
        for r in (raw, bare):
            await r.send({"subscribe": {"all": True}})
            _, subscribed = await r.frame()
            assert subscribed["type"] == "subscribed"
        before = observed("read")
        seqs = await insert_events(gw, 900, per_commit=300)
        for s in (packed, plain):
            got = await s.events_until(lambda events: len(events) >= len(seqs))
            assert [e["seq"] for e in got] == seqs  # every event once, in order
        for r, compressing in ((raw, True), (bare, False)):
            got, flags = [], []
            deadline = time.monotonic() + 30
            while len(got) < len(seqs):
                compressed, frame = await r.frame(deadline - time.monotonic())
                assert frame["type"] == "events"
                flags.append(compressed)
                got.extend(e["seq"] for e in frame["events"])
            assert got == seqs
            # every events frame of a few hundred events is compressed (RSV1), or none is
            assert flags == [compressing] * len(flags), flags
        # each event observed once, when the last of the four sockets wrote it
        await eventually(lambda: observed("read") >= before + len(seqs))
        assert observed("read") == before + len(seqs)
    finally:
        await raw.close()
        await bare.close()


async def test_the_first_acceptable_offer_is_answered_and_others_get_plain_frames(
        gateways) -> None:
    gw = await gateways()
    windowed = await RawSocket.open(gw.url, "permessage-deflate; server_max_window_bits=8, "
                                            "permessage-deflate; server_max_window_bits=10")
    refused = await RawSocket.open(gw.url, "permessage-deflate; server_max_window_bits=8, x-foo")
    try:
        assert windowed.headers["sec-websocket-extensions"] == (
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover")
        assert "sec-websocket-extensions" not in refused.headers
        for r in (windowed, refused):
            await r.send({"subscribe": {"all": True}})
            await r.frame()
        seqs = await insert_events(gw, 200, per_commit=200)
        for r, compressing in ((windowed, True), (refused, False)):
            compressed, frame = await r.frame()
            assert compressed == compressing
            assert [e["seq"] for e in frame["events"]] == seqs
    finally:
        await windowed.close()
        await refused.close()
