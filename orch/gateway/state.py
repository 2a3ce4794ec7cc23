"""Schedules, approvals and webhook routes (issue 8).

- ``PUT/GET /api/v1/schedules/{name}``: named schedules (admins write; anyone
  signed in reads — a schedule holds no secret).
- ``GET /api/v1/approvals?status=pending`` and ``POST /api/v1/approvals/{id}``
  ``{decision: approve|reject, comment}``: the decider needs the ``start``
  right on the runbook (:func:`authorize`); the decision and its audit row
  commit together, and a NOTIFY wakes the waiting runbook server.
- ``POST /api/v1/hooks/{runbook_id}``: public to the bearer-token middleware;
  it checks the *hook's* token (the one the runbook's ``monitor_webhook``
  registered) and queues the JSON body for the monitor (202).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

import msgspec
from aiohttp import web

from orch.api import Operation
from orch.api.state import (
    Approval,
    ApprovalList,
    Decide,
    HookAccepted,
    ListApprovalsQuery,
    ScheduleBody,
)
from orch.gateway.auth import authorize, bearer_token
from orch.gateway.bodies import (
    json_response,
    parse_json,
    path_uuid,
    read_bytes,
    read_json,
    read_query,
)
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import ConflictError, NotFoundError, Unauthorized
from orch.gateway.keys import POOL, PRINCIPAL
from orch.sdk.schedule import Schedule
from orch.sql import Q

API = "/api/v1"
_NAME = {"name": {"type": "string"}}


def _schedule_name(request: web.Request) -> str:
    name = request.match_info["name"].strip()
    if not name or len(name) > 200:
        raise NotFoundError(f"no schedule {name!r}")
    return name


async def put_schedule(request: web.Request) -> web.Response:
    name = _schedule_name(request)
    definition = await read_json(request, Schedule)
    principal = authorize(request, "design", "/")
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow(Q.schedule_put, name, msgspec.to_builtins(definition),
                                  uuid.UUID(principal.user_id))  # fmt: skip
    assert row is not None
    body = ScheduleBody(name=name, definition=definition, updated_at=row["updated_at"])
    return json_response(body, 201 if row["created"] else 200)


async def get_schedule(request: web.Request) -> web.Response:
    name = _schedule_name(request)
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow(Q.schedule_get, name)
    if row is None:
        raise NotFoundError(f"no schedule {name!r}")
    return json_response(ScheduleBody(
        name=name, definition=msgspec.convert(row["definition"], Schedule),
        updated_at=row["updated_at"],
    ))  # fmt: skip


async def list_approvals(request: web.Request) -> web.Response:
    query = read_query(request, ListApprovalsQuery)
    after = decode_cursor(query.cursor, tuple[datetime, str]) if query.cursor else None
    async with request.app[POOL].acquire() as conn:
        rows = await conn.fetch(
            Q.approvals_page, query.status, after[0] if after else None,
            uuid.UUID(after[1]) if after else None, query.limit + 1,
        )  # fmt: skip
    items: list[Approval] = []
    for r in rows[: query.limit]:
        approval = msgspec.convert(dict(r), Approval)
        if request[PRINCIPAL].may("view", approval.runbook_path):
            items.append(approval)  # else not visible to the caller
    last = rows[query.limit - 1] if len(rows) > query.limit else None
    nxt = encode_cursor((last["requested_at"], last["id"])) if last is not None else None
    return json_response(ApprovalList(items=items, next=nxt))


async def get_approval(request: web.Request) -> web.Response:
    approval = await _approval(request)
    authorize(request, "view", approval.runbook_path)
    return json_response(approval)


async def _approval(request: web.Request) -> Approval:
    approval_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn:
        row = await conn.fetchrow(Q.approval_row, approval_id)
    if row is None:
        raise NotFoundError(f"no approval {approval_id}")
    return msgspec.convert(dict(row), Approval)


async def decide_approval(request: web.Request) -> web.Response:
    body = await read_json(request, Decide)
    approval = await _approval(request)
    principal = authorize(request, "start", approval.runbook_path)
    status = "approved" if body.decision == "approve" else "rejected"
    async with request.app[POOL].acquire() as conn:
        done = await conn.fetchval(
            Q.approval_decide, uuid.UUID(approval.id), status, uuid.UUID(principal.user_id),
            principal.name, body.comment,
        )  # fmt: skip
    if done is None:
        raise ConflictError(f"approval {approval.id} is already {approval.status}"
                            if approval.status != "pending" else
                            f"approval {approval.id} was decided meanwhile")  # fmt: skip
    return json_response(await _approval(request))


async def accept_hook(request: web.Request) -> web.Response:
    runbook_id = path_uuid(request, "runbook_id")
    token = bearer_token(request) or request.headers.get("X-Orch-Hook-Token", "")
    async with request.app[POOL].acquire() as conn:
        expected = await conn.fetchval(Q.webhook_token, runbook_id)
        if expected is None:
            raise NotFoundError(f"no monitor listens on runbook {runbook_id}")
        digest = hashlib.sha256(token.encode()).hexdigest()
        if not token or not hmac.compare_digest(digest, expected):
            raise Unauthorized("invalid hook token")
        body = parse_json(await read_bytes(request))
        request_id = uuid.uuid4()
        received = await conn.fetchval(Q.webhook_accept, request_id, runbook_id, body,
                                       request.remote or "")  # fmt: skip
    return json_response(HookAccepted(id=str(request_id), received_at=received), 202)


ROUTES = (
    (
        Operation("PUT", f"{API}/schedules/{{name}}", "put_schedule",
                  "Create or replace a named schedule (admins)", body=Schedule,
                  response=ScheduleBody, alt_statuses=(201,), path_params=_NAME,
                  errors=(400, 403, 422), tags=("schedules",)),
        put_schedule,
    ),
    (
        Operation("GET", f"{API}/schedules/{{name}}", "get_schedule", "A named schedule",
                  response=ScheduleBody, path_params=_NAME, errors=(404,),
                  tags=("schedules",)),
        get_schedule,
    ),
    (
        Operation("GET", f"{API}/approvals", "list_approvals",
                  "Approvals (wait_for_approval), oldest first; `status=pending` for the open ones",
                  query=ListApprovalsQuery, response=ApprovalList, errors=(422,),
                  tags=("approvals",)),
        list_approvals,
    ),
    (
        Operation("GET", f"{API}/approvals/{{id}}", "get_approval", "One approval",
                  response=Approval, errors=(403, 404), tags=("approvals",)),
        get_approval,
    ),
    (
        Operation("POST", f"{API}/approvals/{{id}}", "decide_approval",
                  "Approve or reject (needs the `start` right on the runbook); audited",
                  body=Decide, response=Approval, errors=(400, 403, 404, 409, 422),
                  tags=("approvals",)),
        decide_approval,
    ),
    (
        Operation("POST", f"{API}/hooks/{{runbook_id}}", "accept_hook",
                  "Webhook for a runbook's monitor_webhook: its own bearer token; the JSON "
                  "body becomes the trigger's published data",
                  response=HookAccepted, status=202, public=True, errors=(400, 401, 404),
                  tags=("monitors",)),
        accept_hook,
    ),
)  # fmt: skip
