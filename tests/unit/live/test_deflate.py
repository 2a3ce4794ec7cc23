"""permessage-deflate for the live feed: the negotiation answer, the shared compressed frame."""

from __future__ import annotations

import json
import zlib

import pytest

from orch.gateway.live.deflate import (
    Deflate,
    deflate,
    inflate,
    negotiate,
    text_frame_header,
)
from orch.gateway.live.events import Batch, FeedEvent, deflated_frame, events_frame

CHROMIUM = "permessage-deflate; client_max_window_bits"


def answer(*headers: str) -> str | None:
    accepted = negotiate(headers)
    return None if accepted is None else accepted.answer


@pytest.mark.parametrize(("offer", "expected"), [
    ("permessage-deflate", "permessage-deflate; server_no_context_takeover"),
    # what Chromium and aiohttp's client offer: the client's window is theirs, not echoed
    (CHROMIUM, "permessage-deflate; server_no_context_takeover"),
    ("permessage-deflate; client_max_window_bits=10",
     "permessage-deflate; server_no_context_takeover"),
    ("permessage-deflate; server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover"),
    ("permessage-deflate; client_no_context_takeover; server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover"),
    ("permessage-deflate; server_max_window_bits=10",
     "permessage-deflate; server_max_window_bits=10; server_no_context_takeover"),
    ('permessage-deflate; server_max_window_bits="12"',
     "permessage-deflate; server_max_window_bits=12; server_no_context_takeover"),
    ("PerMessage-Deflate ; Client_Max_Window_Bits",
     "permessage-deflate; server_no_context_takeover"),
])  # fmt: skip
def test_an_acceptable_offer_is_answered_without_server_context_takeover(
        offer: str, expected: str) -> None:
    assert answer(offer) == expected


@pytest.mark.parametrize("offer", [
    "",
    "x-webkit-deflate-frame",
    "permessage-deflate; foo",  # an unknown parameter
    "permessage-deflate; server_max_window_bits",  # needs a value in an offer
    "permessage-deflate; server_max_window_bits=8",  # zlib: no 256-byte raw window
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=010",  # leading zero
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_max_window_bits; client_max_window_bits",  # repeated
])  # fmt: skip
def test_an_unacceptable_offer_gets_no_extension(offer: str) -> None:
    assert negotiate([offer]) is None


def test_the_first_acceptable_offer_wins_across_offers_and_header_lines() -> None:
    assert answer("permessage-deflate; server_max_window_bits=8, "
                  "permessage-deflate; server_max_window_bits=11, permessage-deflate") == (
        "permessage-deflate; server_max_window_bits=11; server_no_context_takeover")
    assert answer("x-webkit-deflate-frame", "permessage-deflate; foo=1",
                  CHROMIUM) == "permessage-deflate; server_no_context_takeover"


def test_the_offer_handed_to_aiohttp_asks_for_no_server_context_takeover() -> None:
    assert Deflate(15).offer == "permessage-deflate; server_no_context_takeover"
    assert Deflate(10).offer == (
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10")


def events(n: int) -> Batch:
    return Batch([FeedEvent(seq, "rb", "job", json.dumps({
        "seq": seq, "kind": "activity", "job_id": "3f2c1d9e-5a7b-4c1d-9e8f-0a1b2c3d4e5f",
        "status": "success", "activity": f"step{seq % 10}"}).encode()) for seq in range(1, n + 1)])


def test_a_compressed_frame_inflates_to_the_json_frame() -> None:
    batch = events(500)
    frame = events_frame(b'"1"', batch)
    packed = deflated_frame(b'"1"', batch, 15, 1, 200)
    assert packed is not None and len(packed) < len(frame) // 3
    assert not packed.endswith(b"\x00\x00\xff\xff")  # RFC 7692 7.2.1: removed
    assert inflate(packed) == frame
    assert [e["seq"] for e in json.loads(inflate(packed))["events"]] == list(range(1, 501))
    # compressed once: every socket gets these very bytes
    assert deflated_frame(b'"1"', batch, 15, 1, 200) is packed
    # each message on its own: a decompressor that kept the previous message's
    # context (a client with context takeover) reads it the same
    kept = zlib.decompressobj(-15)
    for _ in range(3):
        assert kept.decompress(packed + b"\x00\x00\xff\xff") == frame


def test_a_smaller_window_and_small_frames() -> None:
    batch = events(300)
    packed = deflated_frame(b'"1"', batch, 9, 1, 200)
    assert packed is not None and inflate(packed) == events_frame(b'"1"', batch)
    assert deflated_frame(b'"1"', events(1), 15, 1, 10_000) is None  # too small: as it is
    assert inflate(deflate(b"", 15)) == b""


def test_text_frame_headers() -> None:
    assert text_frame_header(5, False) == b"\x81\x05"
    assert text_frame_header(5, True) == b"\xc1\x05"  # RSV1: compressed
    assert text_frame_header(300, True) == b"\xc1\x7e\x01\x2c"
    assert text_frame_header(70_000, False) == b"\x81\x7f" + (70_000).to_bytes(8, "big")
