"""permessage-deflate (RFC 7692) for the live feed: compressed once, written to every socket.

A published batch's events frame is the same bytes for every ``all``
subscriber, so it is compressed once and the compressed bytes are written to
every socket that negotiated the extension. That is only possible without
context takeover on the server's side: each message is compressed on its own
(a fresh compressor, no reference to earlier messages), so its bytes do not
depend on what else a socket was sent. The server therefore always answers
with ``server_no_context_takeover`` (RFC 7692 7.1.1.1: a server may add it
even when the client did not offer it), and the client may keep its own
context for what it sends (its business; aiohttp's reader inflates it).

:func:`negotiate` picks the first acceptable offer of the request's
``Sec-WebSocket-Extensions``. aiohttp does the handshake: it is handed the
canonical form of that offer (:attr:`Deflate.offer`, with
``server_no_context_takeover``), so its answer is :attr:`Deflate.answer` and
its reader accepts the client's compressed messages. Frames are then written
by :class:`FrameSender` through the request's transport (public aiohttp API:
``request.transport`` and the stream writer's ``drain``), with RSV1 set for a
compressed payload — aiohttp's own ``send_frame`` would compress every frame
again, per socket. No private aiohttp attribute is used; the handshake's
behaviour relied on (the answer to the canonical offer, ``ws.compress``) was
checked against aiohttp 3.14.5, and :func:`sender_for` falls back to
aiohttp's own (per-socket) compression when an answer differs.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter

__all__ = ["EXTENSION", "Deflate", "FrameSender", "deflate", "inflate", "negotiate",
           "sender_for", "text_frame_header"]

EXTENSION = "permessage-deflate"
TRAILER = b"\x00\x00\xff\xff"
"""RFC 7692 7.2.1: the end of a sync flush, removed from every compressed message."""

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*(?:=\s*({_TOKEN}|"[^"\\]*")\s*)?$')
_BITS = re.compile(r"(?:[89]|1[0-5])$")  # 8..15, no leading zero (RFC 7692 7.1.2)


@dataclass(frozen=True, slots=True)
class Deflate:
    """An accepted permessage-deflate offer: the server compresses with ``window_bits``."""

    window_bits: int = 15

    @property
    def offer(self) -> str:
        """The offer as handed to aiohttp's handshake (which then answers :attr:`answer`)."""
        bits = f"; server_max_window_bits={self.window_bits}" if self.window_bits < 15 else ""
        return f"{EXTENSION}; server_no_context_takeover{bits}"

    @property
    def answer(self) -> str:
        """The ``Sec-WebSocket-Extensions`` response header."""
        bits = f"; server_max_window_bits={self.window_bits}" if self.window_bits < 15 else ""
        return f"{EXTENSION}{bits}; server_no_context_takeover"


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside quoted strings."""
    parts, start, quoted = [], 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _accept(params: list[str]) -> Deflate | None:
    """One permessage-deflate offer's parameters → what we answer, or None to decline it
    (RFC 7692 5 and 7.1: unknown or repeated parameters, or values out of range)."""
    seen: set[str] = set()
    window = 15
    for raw in params:
        m = _PARAM.match(raw)
        if m is None:
            return None
        name, value = m[1].lower(), m[2]
        if value is not None and value.startswith('"'):
            value = value[1:-1]
        if name in seen:
            return None
        seen.add(name)
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return None
        elif name == "server_max_window_bits":
            if value is None or not _BITS.match(value):
                return None
            window = int(value)
            if window < 9:  # zlib has no 256-byte window for raw deflate: decline
                return None
        elif name == "client_max_window_bits":
            # The client's own window; ours inflates any. Not echoed in the answer,
            # which the RFC allows (the client then keeps the value it offered, or 15).
            if value is not None and not _BITS.match(value):
                return None
        else:
            return None
    return Deflate(window)


def negotiate(headers: Iterable[str]) -> Deflate | None:
    """The first acceptable permessage-deflate offer among the request's
    ``Sec-WebSocket-Extensions`` values, or None (no extension: uncompressed frames)."""
    for header in headers:
        for extension in _split(header, ","):
            name, *params = _split(extension, ";")
            if name.strip().lower() != EXTENSION:
                continue
            accepted = _accept(params)
            if accepted is not None:
                return accepted
    return None


def deflate(data: bytes, window_bits: int = 15, level: int = 1) -> bytes:
    """One message compressed on its own (RFC 7692 7.2.1): raw DEFLATE, sync-flushed,
    the trailing ``00 00 ff ff`` removed."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -window_bits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out.removesuffix(TRAILER)


def inflate(payload: bytes) -> bytes:
    """A compressed message back (with a fresh context: no takeover), for tests and tools."""
    return zlib.decompressobj(-15).decompress(payload + TRAILER)


_LEN1 = struct.Struct("!BB").pack
_LEN2 = struct.Struct("!BBH").pack
_LEN3 = struct.Struct("!BBQ").pack
_FIN_TEXT = 0x81
_RSV1 = 0x40
_SPLIT_WRITE = 16 * 1024
"""Above this a payload is written after its header, not copied onto it."""


def text_frame_header(length: int, compressed: bool) -> bytes:
    """RFC 6455 5.2: FIN, RSV1 when compressed, opcode text; unmasked (server → client)."""
    first = _FIN_TEXT | (_RSV1 if compressed else 0)
    if length < 126:
        return _LEN1(first, length)
    if length < 65536:
        return _LEN2(first, 126, length)
    return _LEN3(first, 127, length)


class FrameSender:
    """Writes the text frames of a socket that negotiated permessage-deflate.

    Through the request's transport, like aiohttp's writer (frames are written
    whole and synchronously, so aiohttp's pings and close never land inside
    one), then waits while the transport is paused (the stream writer's
    ``drain``). A closed websocket or transport raises ``ConnectionResetError``.
    """

    __slots__ = ("request", "window_bits", "writer", "ws")

    def __init__(self, ws: web.WebSocketResponse, request: web.Request,
                 writer: AbstractStreamWriter, window_bits: int) -> None:
        self.ws = ws
        self.request = request
        self.writer = writer
        self.window_bits = window_bits

    async def send(self, payload: bytes, compressed: bool) -> None:
        transport = self.request.transport
        if self.ws.closed or transport is None or transport.is_closing():
            raise ConnectionResetError("the live socket is closed")
        header = text_frame_header(len(payload), compressed)
        if len(payload) > _SPLIT_WRITE:
            transport.write(header)
            transport.write(payload)
        else:
            transport.write(header + payload)
        await self.writer.drain()


def sender_for(ws: web.WebSocketResponse, request: web.Request, writer: AbstractStreamWriter,
               accepted: Deflate | None) -> FrameSender | None:
    """The sender for a prepared socket, when the handshake answered what we accepted.

    None otherwise: no extension (``ws.send_frame`` writes plain frames, as
    before), or an aiohttp whose answer differs — it then compresses each frame
    itself, per socket (correct, only slower).
    """
    if accepted is None or not ws.compress:
        return None
    answer = ws.headers.get(hdrs.SEC_WEBSOCKET_EXTENSIONS, "")
    if ws.compress != accepted.window_bits or "server_no_context_takeover" not in answer:
        return None
    return FrameSender(ws, request, writer, accepted.window_bits)
