"""Designer-side bodies: diffs between checked-in versions, validation of editor text."""

from __future__ import annotations

from typing import Annotated

import msgspec

from orch.api.base import Query, Response

Version = Annotated[int, msgspec.Meta(ge=1, le=999_999_999)]


class DiffQuery(Query, kw_only=True):
    from_: Version | None = msgspec.field(default=None, name="from")
    """The old version (default: the one before ``to``)."""
    to: Version | None = None
    """The new version (default: the current one)."""


class PositionedFault(Response, kw_only=True):
    """A fault of the document text, and where it is: a JSON path and a line/column."""

    path: str
    """JSON path of the fault (``$`` for a syntax error)."""
    message: str
    code: str
    """The checker's stable slug (``bad-json`` for text that is not JSON)."""
    line: int
    """1-based line of the text where the fault is (a member: its key)."""
    column: int
    """1-based column, in characters."""


class ValidationResult(Response, kw_only=True):
    valid: bool
    """True when a check-in of this text would be accepted (as far as the document goes)."""
    faults: list[PositionedFault]
    """Every fault, in text order; empty when valid."""
