"""The runbook catalog: check-in (new runbooks and new versions) and reads.

Check-in takes a *compiled* runbook, so nothing unvalidated reaches the
database. A runbook's path (``folder/name``) is unique: a new runbook at a
taken path is a Conflict, and so is a new version while another user has the
runbook checked out. Missing folders are created on the way, concurrently
safe (``ON CONFLICT DO NOTHING``). Each version stores the document in its
canonical form with the sha256 of its canonical bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from orch.api import (
    CheckInResult,
    RunbookDetail,
    RunbookSummary,
    RunbookVersion,
    VersionSummary,
)
from orch.db.packs import types_used
from orch.document.model import Runbook as RunbookDocument
from orch.document.model import normalize_folder
from orch.errors import Conflict, DocumentError, NotFound
from orch.sql import Q

if TYPE_CHECKING:
    from orch.document.graph import CompiledRunbook

__all__ = [
    "canonical_document",
    "check_in_new",
    "check_in_version",
    "document_hash",
    "ensure_folder",
    "get_runbook",
    "get_version",
    "list_runbooks",
]


def canonical_document(runbook: RunbookDocument) -> tuple[dict[str, Any], str]:
    """The document as stored (plain JSON values) and the sha256 hex of its canonical bytes."""
    return msgspec.to_builtins(runbook), document_hash(runbook)


def document_hash(runbook: RunbookDocument) -> str:
    return hashlib.sha256(msgspec.json.encode(runbook, order="sorted")).hexdigest()


def _split_path(runbook: RunbookDocument) -> tuple[str, str, str]:
    """(folder, name, path), checking that the name can be a path segment."""
    name = runbook.name
    if not name.strip() or "/" in name:
        raise DocumentError("a runbook name must be non-blank and contain no '/'", path="$.name")
    folder = normalize_folder(runbook.folder)
    path = f"{folder}/{name}" if folder != "/" else f"/{name}"
    return folder, name, path


async def ensure_folder(conn: asyncpg.Connection, path: str) -> uuid.UUID:
    """The id of folder ``path``, creating it and every missing parent."""
    folder_id: uuid.UUID = await conn.fetchval(Q.catalog_ensure_folder, uuid.uuid4(), "/", None, "")
    prefix = ""
    for name in (p for p in normalize_folder(path).split("/") if p):
        prefix += "/" + name
        folder_id = await conn.fetchval(
            Q.catalog_ensure_folder, uuid.uuid4(), prefix, folder_id, name
        )
    return folder_id


async def check_in_new(
    conn: asyncpg.Connection,
    compiled: CompiledRunbook,
    *,
    comment: str = "",
    user_id: str | None = None,
) -> CheckInResult:
    """Create a runbook and its version 1; Conflict when its path is taken."""
    doc = compiled.runbook
    folder, name, path = _split_path(doc)
    document, digest = canonical_document(doc)
    async with conn.transaction():
        folder_id = await ensure_folder(conn, folder)
        runbook_id = await conn.fetchval(
            Q.catalog_insert_runbook,
            uuid.uuid4(),
            folder_id,
            name,
            path,
            compiled.is_monitor,
            doc.max_concurrent_jobs,
        )
        if runbook_id is None:
            raise Conflict(f"a runbook already exists at {path}", path="$.name")
        await conn.execute(Q.catalog_insert_version, runbook_id, 1, document, digest, comment,
                           user_id, types_used(compiled))
    return CheckInResult(id=str(runbook_id), version=1, path=path, hash=digest)


async def check_in_version(
    conn: asyncpg.Connection,
    runbook_id: uuid.UUID,
    compiled: CompiledRunbook,
    *,
    comment: str = "",
    user_id: str | None = None,
) -> CheckInResult:
    """Add version n+1 (the document may move or rename the runbook) and release a check-out.

    NotFound for an unknown id; Conflict when another user has it checked out
    or the new path belongs to another runbook.
    """
    doc = compiled.runbook
    folder, name, path = _split_path(doc)
    document, digest = canonical_document(doc)
    async with conn.transaction():
        row = await conn.fetchrow(Q.catalog_lock_runbook, runbook_id)
        if row is None:
            raise NotFound(f"no runbook {runbook_id}")
        holder = row["checked_out_by"]
        if holder is not None and holder != user_id:
            raise Conflict(f"{row['path']} is checked out by {row['checked_out_by_name']}")
        if path != row["path"]:
            owner = await conn.fetchval(Q.catalog_path_owner, path)
            if owner is not None and owner != runbook_id:
                raise Conflict(f"another runbook already exists at {path}", path="$.name")
        version = row["current_version"] + 1
        folder_id = await ensure_folder(conn, folder)
        await conn.execute(Q.catalog_insert_version, runbook_id, version, document, digest,
                           comment, user_id, types_used(compiled))
        try:
            await conn.execute(
                Q.catalog_update_runbook,
                runbook_id,
                version,
                folder_id,
                name,
                path,
                compiled.is_monitor,
                doc.max_concurrent_jobs,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"another runbook already exists at {path}", path="$.name") from None
    return CheckInResult(id=str(runbook_id), version=version, path=path, hash=digest)


async def get_runbook(conn: asyncpg.Connection, runbook_id: uuid.UUID) -> RunbookDetail | None:
    """The runbook with every version (oldest first) and its current document."""
    row = await conn.fetchrow(Q.catalog_runbook, runbook_id)
    if row is None:
        return None
    versions = [
        msgspec.convert(dict(v), VersionSummary)
        for v in await conn.fetch(Q.catalog_versions, runbook_id)
    ]
    assigned = await conn.fetch(Q.assignment_of_runbook, runbook_id)
    source = assigned[0]["source"] if assigned else None
    return msgspec.convert(
        {**dict(row), "versions": versions, "servers": [a["server_name"] for a in assigned],
         "servers_inherited_from": source if source not in (None, "runbook") else None},
        RunbookDetail,
    )


async def get_version(
    conn: asyncpg.Connection, runbook_id: uuid.UUID, version: int
) -> RunbookVersion | None:
    row = await conn.fetchrow(Q.catalog_version, runbook_id, version)
    return None if row is None else msgspec.convert(dict(row), RunbookVersion)


async def list_runbooks(
    conn: asyncpg.Connection,
    *,
    folder: str | None = None,
    after: str | None = None,
    limit: int = 100,
    scope: list[str] | None = None,
) -> list[RunbookSummary]:
    """Runbooks in ``folder`` or below (all when None), by path, after path ``after``;
    only those in the ``scope`` subtrees when given (what an operator may view)."""
    folder = normalize_folder(folder) if folder is not None else None
    rows = await conn.fetch(Q.catalog_runbooks_page, folder, after, limit, scope)
    return [msgspec.convert(dict(r), RunbookSummary) for r in rows]
