"""``POST /api/v1/runbooks/import``: check in a folder of documents, all or nothing.

Every document is validated first and *every* fault of every document is
reported (422, paths like ``$.documents[2].activities[0].type``), so a CI job
sees all its mistakes at once; two documents at the same path are a fault
too. Only when all are valid are they checked in, in one transaction: a
document at a new path creates a runbook, one at a taken path adds a version
(unless it is identical to the current version), and any conflict — a
runbook checked out by someone else — rolls everything back (409). With
``dry_run`` the same work is done and rolled back: the answer says what would
change.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from orch.api import Fault, Operation
from orch.api.transfer import ImportedRunbook, ImportResult, ImportRunbooks
from orch.db import catalog
from orch.document import CompiledRunbook, DocumentInvalid, load
from orch.gateway.audit import audit
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, read_json
from orch.gateway.errors import Invalid
from orch.gateway.keys import POOL, REGISTRY
from orch.sql import Q


def _check_all(body: ImportRunbooks, request: web.Request) -> list[CompiledRunbook]:
    """Every document compiled; Invalid listing every fault of every document."""
    registry = request.app[REGISTRY]
    faults: list[Fault] = []
    compiled: list[CompiledRunbook] = []
    first_at: dict[str, int] = {}
    for i, document in enumerate(body.documents):
        base = f"$.documents[{i}]"
        try:
            c = load(document, registry)
        except DocumentInvalid as e:
            faults.extend(
                Fault(path=base + f.path[1:], message=f.message, code=f.code) for f in e.faults
            )
            continue
        compiled.append(c)
        if c.path in first_at:
            faults.append(
                Fault(
                    path=f"{base}.name",
                    message=f"{c.path} is also the path of documents[{first_at[c.path]}]",
                    code="duplicate-path",
                )
            )
        first_at.setdefault(c.path, i)
    if faults:
        bad = len({f.path.split("]", 1)[0] for f in faults})
        raise Invalid(
            f"{bad} of {len(body.documents)} documents are invalid; nothing was imported",
            path=faults[0].path,
            faults=faults,
            code="invalid-document",
        )
    return compiled


async def import_runbooks(request: web.Request) -> web.Response:
    body = await read_json(request, ImportRunbooks)
    compiled = _check_all(body, request)
    principal = None
    for c in compiled:
        principal = authorize(request, "design", c.path)
    user_id = principal.user_id if principal is not None else None
    items: list[ImportedRunbook] = []
    async with request.app[POOL].acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for c in compiled:
                item = await _check_in(conn, c, body.comment, user_id)
                if item.action != "unchanged":
                    await audit(conn, request, "runbook checked in", item.path,
                                {"id": str(item.id), "version": item.version,
                                 "created": item.action == "created", "import": True})
                items.append(item)
        except BaseException:
            await transaction.rollback()
            raise
        if body.dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return json_response(ImportResult(items=items, dry_run=body.dry_run))


async def _check_in(
    conn: asyncpg.Connection, c: CompiledRunbook, comment: str, user_id: str | None
) -> ImportedRunbook:
    """Create the runbook at the document's path, or add a version when it changed."""
    owner = await conn.fetchval(Q.catalog_path_owner, c.path)
    if owner is None:
        result = await catalog.check_in_new(conn, c, comment=comment, user_id=user_id)
        return ImportedRunbook(**_fields(result), action="created")
    current = await catalog.get_runbook(conn, owner)
    digest = catalog.document_hash(c.runbook)
    if current is not None and current.versions[-1].hash == digest:
        return ImportedRunbook(id=current.id, path=current.path, version=current.current_version,
                               hash=digest, action="unchanged")  # fmt: skip
    result = await catalog.check_in_version(conn, owner, c, comment=comment, user_id=user_id)
    return ImportedRunbook(**_fields(result), action="updated")


def _fields(result: object) -> dict[str, object]:
    return {k: getattr(result, k) for k in ("id", "path", "version", "hash")}


ROUTES = (
    (
        Operation("POST", "/api/v1/runbooks/import", "import_runbooks",
                  "Check in many runbook documents at once, all or nothing (every invalid "
                  "document is reported)",
                  body=ImportRunbooks, response=ImportResult, errors=(400, 403, 409, 422),
                  tags=("runbooks",)),
        import_runbooks,
    ),
)  # fmt: skip
