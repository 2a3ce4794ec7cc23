"""Folder resources: the tree runbooks live in, and the bodies that change it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from orch.api.base import Cursor, Id, Limit, Query, Request, Response

FolderName = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^/\x00-\x1f\x7f]+$",
                 description="One path segment: no '/', no control characters."),
]
FolderPath = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=2000, pattern=r"^/",
                 description="An absolute folder path such as `/Ops/Services`."),
]


class Folder(Response, kw_only=True):
    id: Id
    path: str
    name: str
    """The last segment of the path (``""`` for the root ``/``)."""
    parent: str | None
    """The parent folder's path; null for the root."""
    created_at: datetime
    folder_count: int
    """Folders directly inside it."""
    runbook_count: int
    """Runbooks directly inside it."""


class FolderList(Response, kw_only=True):
    items: list[Folder]
    """Sorted by path, so a parent comes before what it holds."""
    next: str | None


class ListFoldersQuery(Query, kw_only=True):
    under: str | None = None
    """Only this folder and the folders below it."""
    cursor: Cursor | None = None
    limit: Limit = 100


class CreateFolder(Request, kw_only=True):
    path: FolderPath
    """Missing parents are created too; the folder itself must not exist (409)."""


class UpdateFolder(Request, kw_only=True):
    """Rename (``name``), move (``parent``), or both; what is left out stays."""

    name: FolderName | None = None
    parent: FolderPath | None = None
    """The path of an existing folder to move it into."""
