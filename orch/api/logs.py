"""The instance log: what activities wrote and their programs' output, line by line."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from orch.api.base import Cursor, Id, Query, Response

LogStream = Literal["log", "stdout", "stderr"]
LogLimit = Annotated[int, msgspec.Meta(ge=1, le=5000, description="Page size.")]


class LogLine(Response, kw_only=True):
    id: int
    """Increasing within the instance."""
    at: datetime
    activity: str | None
    run_id: Id | None
    stream: LogStream
    text: str


class LogPage(Response, kw_only=True):
    items: list[LogLine]
    """Oldest first."""
    next: str | None
    """Where the next page starts. While the instance runs it is never null, so a
    follower keeps asking with it; null once the instance ended and this page
    holds the last line."""


class LogQuery(Query, kw_only=True):
    stream: LogStream | None = None
    activity: str | None = None
    run: Id | None = None
    cursor: Cursor | None = None
    limit: LogLimit = 500
