"""Shared settings for the API's bodies: one base Struct per direction.

Requests are decoded strictly (unknown keys are a 422 naming the key), so a
typo in a client never passes silently. Responses are decoded leniently by
the client (a newer gateway may add fields) and always encode every field,
``null`` included: DESIGN's "absent values are null, never omitted".

msgspec does not inherit ``kw_only``, so every subclass repeats it (all
construction is by keyword, which keeps field order free).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Id = Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
"""A UUID as text (ids in paths and bodies)."""

Cursor = Annotated[
    str, msgspec.Meta(description="Opaque position from a previous page's `next`.")
]
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000, description="Page size.")]


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for what the gateway decodes: keyword-only, unknown keys rejected."""


class Query(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base for query-string parameters (converted from text, so ``limit=5`` is an int)."""


class Response(msgspec.Struct, kw_only=True):
    """Base for what the gateway encodes: every field is always present."""


_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """JSON bytes of a response body (Structs, lists, dicts)."""
    return _encoder.encode(value)
