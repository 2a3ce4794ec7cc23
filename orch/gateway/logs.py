"""``GET /instances/{id}/log``: an instance's log, oldest line first, in pages.

Lines are what activities wrote (``Context.write_log``) and their programs'
output as it streamed, written by the runbook server in batches. While the
instance runs ``next`` is never null: a follower asks again with it and gets
the lines written since (and for a few seconds after the instance ended, as
the last lines may still be on their way).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from aiohttp import web

from orch.api.logs import LogLine, LogPage, LogQuery
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, path_uuid, read_query
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import Invalid, NotFoundError
from orch.gateway.keys import POOL
from orch.sql import Q

LATE_LINES_SECONDS = 5.0
"""After an instance ends, how long its log is still treated as growing."""


async def instance_log(request: web.Request) -> web.Response:
    instance_id = path_uuid(request)
    query = read_query(request, LogQuery)
    after = decode_cursor(query.cursor, int) or 0
    run_id = None
    if query.run is not None:
        try:
            run_id = UUID(query.run)
        except ValueError:
            raise Invalid(f"not a run id: {query.run!r}", path="$.run",
                          code="invalid-query") from None
    async with request.app[POOL].acquire() as conn:
        state = await conn.fetchrow(Q.api_instance_state, instance_id, LATE_LINES_SECONDS)
        if state is None:
            raise NotFoundError(f"no instance {instance_id}")
        authorize(request, "view", state["path"])
        rows = await conn.fetch(Q.api_instance_log_page, instance_id, after, query.stream,
                                query.activity, run_id, query.limit + 1)
    items = [msgspec.convert(dict(r), LogLine) for r in rows[: query.limit]]
    last = items[-1].id if items else after
    more = len(rows) > query.limit or state["live"]
    return json_response(LogPage(items=items, next=encode_cursor(last) if more else None))
