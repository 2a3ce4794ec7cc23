"""Folder routes: the tree (paged by path), create, rename or move, delete when empty.

A folder's path is its parent's path plus its name, and every runbook's path
its folder's path plus its name: renaming or moving a folder rewrites the
paths of everything below it in one transaction. Triggers in the database
(migration 0004) refuse any row whose path disagrees with its parent's, so a
check-in racing with a move fails (409, retry) instead of landing at a stale
path. Checked-in documents keep the folder they were written with; the
runbook's path is the truth.
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec
from aiohttp import web

from orch.api.folders import CreateFolder, Folder, FolderList, ListFoldersQuery, UpdateFolder
from orch.db.catalog import ensure_folder
from orch.document.model import join_path
from orch.document.paths import normalize_path, segment_problem
from orch.gateway.auth import authorize, view_scope
from orch.gateway.bodies import json_response, path_uuid, read_json, read_query
from orch.gateway.cursor import decode_cursor, encode_cursor
from orch.gateway.errors import ConflictError, Invalid, NotFoundError
from orch.gateway.keys import POOL
from orch.sql import Q


def _folder(row: asyncpg.Record) -> Folder:
    return msgspec.convert(dict(row), Folder)


def _split(path: str) -> tuple[str, str]:
    """``/A/B/C`` → (``/A/B``, ``C``)."""
    parent, _, name = path.rpartition("/")
    return parent or "/", name


def _check_segments(path: str, field: str) -> None:
    for segment in path.split("/")[1:]:
        if segment != segment.strip() or len(segment) > 200 or any(
            ord(ch) < 0x20 or ord(ch) == 0x7F for ch in segment
        ):
            raise Invalid(f"not a valid folder name: {segment!r}", path=field)


async def list_folders(request: web.Request) -> web.Response:
    query = read_query(request, ListFoldersQuery)
    under = normalize_path(query.under, field="$.under") if query.under is not None else None
    after = decode_cursor(query.cursor, str)
    rows = await request.app[POOL].fetch(Q.api_folders_page, under, after, query.limit + 1,
                                         view_scope(request))
    items = [_folder(r) for r in rows[: query.limit]]
    next_cursor = encode_cursor(items[-1].path) if len(rows) > query.limit else None
    return json_response(FolderList(items=items, next=next_cursor))


async def get_folder(request: web.Request) -> web.Response:
    folder_id = path_uuid(request)
    row = await request.app[POOL].fetchrow(Q.api_folder, folder_id)
    if row is None:
        raise NotFoundError(f"no folder {folder_id}")
    folder = _folder(row)
    authorize(request, "view", folder.path)
    return json_response(folder)


async def create_folder(request: web.Request) -> web.Response:
    body = await read_json(request, CreateFolder)
    path = normalize_path(body.path, field="$.path")
    if path == "/":
        raise ConflictError("the root folder / always exists", path="$.path")
    _check_segments(path, "$.path")
    authorize(request, "design", path)
    parent, name = _split(path)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        parent_id = await ensure_folder(conn, parent)
        created = await conn.fetchval(Q.api_folder_insert, uuid.uuid4(), path, parent_id, name)
        if created is None:
            raise ConflictError(f"folder {path} already exists", path="$.path")
        row = await conn.fetchrow(Q.api_folder, uuid.UUID(created))
    folder = _folder(row)
    return json_response(folder, 201, headers={"Location": f"/api/v1/folders/{folder.id}"})


async def update_folder(request: web.Request) -> web.Response:
    folder_id = path_uuid(request)
    body = await read_json(request, UpdateFolder)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        current = await conn.fetchrow(Q.api_folder_lock, folder_id)
        if current is None:
            raise NotFoundError(f"no folder {folder_id}")
        old_path: str = current["path"]
        authorize(request, "design", old_path)
        if current["parent_id"] is None:
            raise Invalid("the root folder cannot be renamed or moved", path="$",
                          code="root-folder")
        old_parent, old_name = _split(old_path)
        name = body.name if body.name is not None else old_name
        if (problem := segment_problem(name)) is not None:
            raise Invalid(problem, path="$.name", code="bad-path")
        _check_segments("/" + name, "$.name")
        parent_path = (normalize_path(body.parent, field="$.parent") if body.parent is not None
                       else old_parent)
        _check_segments(parent_path, "$.parent")
        if parent_path == old_path or parent_path.startswith(old_path + "/"):
            raise Invalid(f"cannot move {old_path} into itself", path="$.parent",
                          code="folder-cycle")
        parent = await conn.fetchrow(Q.api_folder_by_path, parent_path)
        if parent is None:
            raise Invalid(f"no folder {parent_path}", path="$.parent", code="unknown-folder")
        new_path = join_path(parent_path, name)
        if new_path != old_path:
            authorize(request, "design", new_path)
            if await conn.fetchrow(Q.api_folder_by_path, new_path) is not None:
                raise ConflictError(f"folder {new_path} already exists",
                                    path="$.name" if body.name is not None else "$.parent")
            await conn.fetchrow(Q.api_folder_lock_subtree, old_path)
            try:
                await conn.fetchval(Q.api_folder_move_below, old_path, new_path)
                await conn.execute(Q.api_folder_set, folder_id, new_path, parent["id"], name)
                await conn.execute(Q.api_folder_runbook_paths, new_path)
            except asyncpg.UniqueViolationError:
                raise ConflictError(f"folder {new_path} already exists") from None
        row = await conn.fetchrow(Q.api_folder, folder_id)
    return json_response(_folder(row))


async def delete_folder(request: web.Request) -> web.Response:
    folder_id = path_uuid(request)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        current = await conn.fetchrow(Q.api_folder_lock, folder_id)
        if current is None:
            raise NotFoundError(f"no folder {folder_id}")
        authorize(request, "design", current["path"])
        if current["parent_id"] is None:
            raise ConflictError("the root folder cannot be deleted")
        try:
            deleted = await conn.fetchval(Q.api_folder_delete, folder_id)
        except asyncpg.ForeignKeyViolationError:
            deleted = None  # something was put in it meanwhile
        if deleted is None:
            raise ConflictError(f"folder {current['path']} is not empty", code="folder-not-empty")
    return web.Response(status=204)
