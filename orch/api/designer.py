"""Designer-side queries: diffs between checked-in versions."""

from __future__ import annotations

from typing import Annotated

import msgspec

from orch.api.base import Query

Version = Annotated[int, msgspec.Meta(ge=1, le=999_999_999)]


class DiffQuery(Query, kw_only=True):
    from_: Version | None = msgspec.field(default=None, name="from")
    """The old version (default: the one before ``to``)."""
    to: Version | None = None
    """The new version (default: the current one)."""
