"""Opaque, stable list cursors: the sort key of the last item of a page.

Keyset pagination (``WHERE key > last``) stays stable while rows are added,
unlike offsets. The key is JSON in URL-safe base64 so clients treat it as a
token, not a format to build.
"""

from __future__ import annotations

import base64
import binascii
from typing import TypeVar

import msgspec

from orch.gateway.errors import Invalid

T = TypeVar("T")


def encode_cursor(key: object) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode_cursor(text: str | None, type_: type[T]) -> T | None:
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return msgspec.json.decode(raw, type=type_)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Invalid("not a cursor returned by this API", path="$.cursor",
                      code="invalid-query") from None
