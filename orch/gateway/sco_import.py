"""``POST /api/v1/runbooks/import-sco``: an SCO export (``.ois_export``) in, runbooks out.

The body is the export's XML. It is parsed with the importer's hardening
(``orch.importers.sco``: no DTD or entity, the gateway's size limit, a depth
limit), translated, and every runbook validated like a check-in; then, in
one transaction, runbooks are created or get a new version (a runbook
imported before is found again by its SCO UniqueID, kept in the document's
``metadata``; an unchanged one gets no version), missing variables and
counters are created (existing ones are kept as they are), and runbooks with
placeholders or blocking warnings are disabled. Any fault rolls everything
back. The caller needs ``design`` on every runbook's path (and on ``/`` when
the export has variables or counters, as ``PUT /variables`` does). With
``dry_run`` the same work is done and rolled back.
"""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web

from orch.api import Fault, Operation
from orch.api.sco import (
    ScoActivity,
    ScoCounter,
    ScoImportQuery,
    ScoImportReport,
    ScoRunbook,
    ScoSchedule,
    ScoVariable,
)
from orch.db import catalog
from orch.db.disable import set_disabled
from orch.document import CompiledRunbook, DocumentInvalid, load
from orch.document.paths import normalize_path
from orch.gateway.audit import audit
from orch.gateway.auth import authorize
from orch.gateway.bodies import json_response, read_query, read_xml
from orch.gateway.errors import BodyRefused, BodyTooLarge, Invalid
from orch.gateway.keys import POOL, PRINCIPAL, REGISTRY
from orch.importers.sco import Built, BuiltRunbook, ExportError, build, parse_export
from orch.importers.sco.xmlread import MAX_EXPORT_BYTES
from orch.sql import Q

__all__ = ["ROUTES", "import_sco"]

XML_TYPES = ("application/xml", "text/xml")
COMMENT = "imported from SCO"


async def _read_export(request: web.Request) -> bytes:
    return await read_xml(request, max_bytes=MAX_EXPORT_BYTES)


def _refusal(e: ExportError) -> Exception:
    if e.code == "too-large":
        return BodyTooLarge(e.message)
    if e.code in ("not-xml", "forbidden-xml", "too-deep"):
        return BodyRefused(e.message, code=e.code)  # a 400 and one warning line
    return Invalid(e.message, path=e.path, code=e.code)


def _compile(built: Built, request: web.Request) -> list[CompiledRunbook]:
    """Every runbook validated as a check-in would; Invalid naming each fault's runbook."""
    registry = request.app[REGISTRY]
    faults: list[Fault] = []
    compiled: list[CompiledRunbook] = []
    for i, rb in enumerate(built.runbooks):
        try:
            compiled.append(load(rb.document, registry))
        except DocumentInvalid as e:
            faults.extend(Fault(path=f"$.runbooks[{i}]" + f.path[1:],
                                message=f"{rb.path}: {f.message}", code=f.code)
                          for f in e.faults)  # fmt: skip
    if faults:
        raise Invalid(f"{faults[0].message} (the export translates into an invalid runbook; "
                      "nothing was imported)", path=faults[0].path, faults=faults,
                      code="invalid-document")  # fmt: skip
    return compiled


async def import_sco(request: web.Request) -> web.Response:
    query = read_query(request, ScoImportQuery)
    folder = normalize_path(query.folder, field="$.folder")
    data = await _read_export(request)
    try:
        export = parse_export(data)
    except ExportError as e:
        raise _refusal(e) from None
    principal = authorize(request, "design", folder)
    if export.variables or export.counters:
        authorize(request, "design", "/")
    user_id = principal.user_id
    async with request.app[POOL].acquire() as conn:
        known = {r["unique_id"].upper(): r for r in await conn.fetch(Q.sco_import_known)}
        try:
            built = build(export, folder, {k: r["path"] for k, r in known.items()})
        except ExportError as e:
            raise _refusal(e) from None
        for rb in built.runbooks:
            authorize(request, "design", rb.path)
        compiled = _compile(built, request)
        transaction = conn.transaction()
        await transaction.start()
        try:
            report = await _write(conn, request, built, compiled, known, user_id,
                                  dry_run=query.dry_run)  # fmt: skip
        except BaseException:
            await transaction.rollback()
            raise
        if query.dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return json_response(report)


async def _write(
    conn: asyncpg.Connection, request: web.Request, built: Built,
    compiled: list[CompiledRunbook], known: dict[str, asyncpg.Record], user_id: str | None,
    *, dry_run: bool,
) -> ScoImportReport:  # fmt: skip
    runbooks = []
    for rb, c in zip(built.runbooks, compiled, strict=True):
        runbooks.append(await _runbook(conn, request, rb, c, known, user_id, dry_run=dry_run))
    variables = []
    for v in built.variables:
        row = await conn.fetchrow(Q.sco_import_variable, v.name, v.value, v.encrypted, user_id)
        assert row is not None
        created = bool(row["created"])
        if created:
            await audit(conn, request, "variable set", f"variable:{v.name}",
                        {"encrypted": v.encrypted, "import": "sco"})
        variables.append(ScoVariable(
            name=v.name, sco_name=v.sco_name, encrypted=row["encrypted"],
            needs_value=bool(row["encrypted"]) and row["value"] == "",
            action="created" if created else "kept"))  # fmt: skip
    counters = []
    for name, default in built.counters:
        created = bool(await conn.fetchval(Q.sco_import_counter, name, default))
        counters.append(ScoCounter(name=name, default=default,
                                   action="created" if created else "kept"))  # fmt: skip
    schedules = []
    warnings = list(built.warnings)
    for name in built.schedules:
        exists = bool(await conn.fetchval(Q.sco_import_schedule_exists, name))
        if not exists:
            warnings.append(f"schedule {name!r} is not imported (SCO's schedule definitions "
                            f"are not in a form orch reads): define it with PUT "
                            f"/api/v1/schedules/{name}")  # fmt: skip
        schedules.append(ScoSchedule(name=name, needs_definition=not exists))
    return ScoImportReport(runbooks=runbooks, variables=variables, counters=counters,
                           schedules=schedules, warnings=warnings, dry_run=dry_run)


async def _runbook(
    conn: asyncpg.Connection, request: web.Request, rb: BuiltRunbook, c: CompiledRunbook,
    known: dict[str, asyncpg.Record], user_id: str | None, *, dry_run: bool,
) -> ScoRunbook:  # fmt: skip
    current = known.get(rb.policy.unique_id) if rb.policy.unique_id else None
    if current is None:
        current = await conn.fetchrow(Q.sco_import_runbook_at, rb.path)
    digest = catalog.document_hash(c.runbook)
    activities = [ScoActivity(name=a.name, sco_type=a.sco_type, id=a.id, type=a.type,
                              placeholder=a.placeholder, enabled=a.enabled)
                  for a in rb.activities]  # fmt: skip
    common = {"path": rb.path, "sco_unique_id": rb.policy.unique_id, "activities": activities,
              "warnings": rb.warnings}
    if current is not None and current["hash"] == digest:
        return ScoRunbook(id=str(current["id"]), version=current["current_version"],
                          action="unchanged", enabled=not current["disabled"], **common)
    if current is None:
        result = await catalog.check_in_new(conn, c, comment=COMMENT, user_id=user_id)
        action = "created"
    else:
        result = await catalog.check_in_version(conn, current["id"], c, comment=COMMENT,
                                                user_id=user_id)  # fmt: skip
        action = "updated"
    runbook_id = uuid.UUID(result.id)
    enabled = rb.enabled if current is None or not rb.enabled else not current["disabled"]
    if not enabled:
        await set_disabled(conn, runbook_id, True, actor=_actor(request))
    await audit(conn, request, "runbook checked in", rb.path,
                {"id": result.id, "version": result.version, "created": action == "created",
                 "import": "sco", "enabled": enabled})  # fmt: skip
    return ScoRunbook(id=None if dry_run and action == "created" else result.id,
                      version=result.version, action=action, enabled=enabled, **common)


def _actor(request: web.Request) -> str | None:
    principal = request.get(PRINCIPAL)
    return principal.name if principal is not None else None


ROUTES = (
    (
        Operation("POST", "/api/v1/runbooks/import-sco", "import_sco",
                  "Import a System Center Orchestrator export (.ois_export, sent as "
                  "application/xml): runbooks, variables and counters, all or nothing, with a "
                  "report of what needs review",
                  body=str, body_media_type="application/xml", query=ScoImportQuery,
                  response=ScoImportReport, errors=(400, 403, 404, 409, 413, 415, 422),
                  tags=("runbooks",)),
        import_sco,
    ),
)  # fmt: skip
