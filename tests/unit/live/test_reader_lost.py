"""The live feed's reader takes a connection lost mid-query for what it is.

After a failover asyncpg can raise ``InternalClientError`` ("cannot switch to
state …; another operation is in progress") from a query on a connection that
died under it. That is a lost database (orch.db.lost), not a reader bug: the
reader reads again on a new session and keeps its position, instead of failing
and ending every subscriber's subscription with ``lagged``.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from orch.gateway.live.reader import EventReader


async def test_a_connection_lost_mid_query_is_retried_not_a_failure() -> None:
    reader = EventReader(pool=None, publish=lambda events: None)  # type: ignore[arg-type]
    sessions = 0

    async def session() -> None:
        nonlocal sessions
        sessions += 1
        if sessions == 1:
            raise asyncpg.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress")
        raise asyncio.CancelledError  # the second session: stop the test here

    reader._session = session  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await reader.run()
    assert sessions == 2
