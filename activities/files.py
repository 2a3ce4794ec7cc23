"""File and folder activities: create, delete, copy, move, rename, status.

Every path is absolute and checked against the optional allowed root
(``ORCH_FILES_ROOT``, see :mod:`activities._paths`). Work on the file system
runs in a worker thread, so a slow disk never blocks the runbook server's
event loop. Operations that leave the same state when run twice
(create_folder, delete_folder, delete_file, get_file_status) are rerunnable:
"already there" / "already gone" is a success with ``Created``/``Deleted``
false.
"""

from __future__ import annotations

import asyncio
import errno
import glob
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

from activities import _paths
from orch.sdk import ActivityError, Context, Inputs, Published, activity


def os_failure(action: str, exc: OSError) -> ActivityError:
    """An ActivityError for a failed file-system call, saying what was tried."""
    reason = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    return ActivityError(f"{action} failed: {reason}{where}")


# -- create_folder -----------------------------------------------------------


class CreateFolderInputs(Inputs):
    path: str
    """Absolute path of the folder; missing parent folders are created too."""


class FolderCreated(Published):
    Path: str
    """The folder's path."""
    Created: bool
    """false when the folder already existed."""


@activity(
    "create_folder",
    display_name="Create Folder",
    category="File Management",
    rerunnable=True,
)
async def create_folder(ctx: Context, inputs: CreateFolderInputs) -> FolderCreated:
    """Create a folder (and its missing parents); an existing folder is a success."""
    return await asyncio.to_thread(_create_folder, inputs.path)


def _create_folder(value: str) -> FolderCreated:
    path = _paths.resolve(value, "path")
    if path.is_dir():
        return FolderCreated(Path=str(path), Created=False)
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        if path.is_dir():  # made by someone else meanwhile
            return FolderCreated(Path=str(path), Created=False)
        raise ActivityError(f"property path: {path} exists and is not a folder") from None
    except OSError as exc:
        raise os_failure("create folder", exc) from None
    return FolderCreated(Path=str(path), Created=True)


# -- delete_folder -----------------------------------------------------------


class DeleteFolderInputs(Inputs):
    path: str
    """Absolute path of the folder."""
    recursive: bool = False
    """Also delete everything in it; without it a folder that is not empty fails the run."""


class FolderDeleted(Published):
    Path: str
    """The folder's path."""
    Deleted: bool
    """false when there was no such folder."""


@activity(
    "delete_folder",
    display_name="Delete Folder",
    category="File Management",
    rerunnable=True,
)
async def delete_folder(ctx: Context, inputs: DeleteFolderInputs) -> FolderDeleted:
    """Delete a folder (with ``recursive``, its contents too); a missing folder is a success.

    Symbolic links inside are removed, never followed. The file-system root
    and the allowed root itself are never deleted.
    """
    return await asyncio.to_thread(_delete_folder, inputs.path, inputs.recursive)


def _delete_folder(value: str, recursive: bool) -> FolderDeleted:
    path = _paths.resolve(value, "path")
    real = Path(os.path.realpath(path))
    if real == Path(real.anchor) or real == _paths.allowed_root():
        raise ActivityError(f"property path: refusing to delete {real}")
    if not os.path.lexists(path):
        return FolderDeleted(Path=str(path), Deleted=False)
    if path.is_symlink() or not path.is_dir():
        raise ActivityError(f"property path: {path} is not a folder")
    try:
        if recursive:
            shutil.rmtree(path)
        else:
            path.rmdir()
    except OSError as exc:
        if not recursive and exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise ActivityError(
                f"property path: folder {path} is not empty (set recursive to delete its contents)"
            ) from None
        raise os_failure("delete folder", exc) from None
    return FolderDeleted(Path=str(path), Deleted=True)


# -- delete_file -------------------------------------------------------------


class DeleteFileInputs(Inputs):
    path: str
    """Absolute path of the file (a symbolic link is deleted, not its target)."""


class FileDeleted(Published):
    Path: str
    """The file's path."""
    Deleted: bool
    """false when there was no such file."""


@activity(
    "delete_file",
    display_name="Delete File",
    category="File Management",
    rerunnable=True,
)
async def delete_file(ctx: Context, inputs: DeleteFileInputs) -> FileDeleted:
    """Delete a file; a missing file is a success with ``Deleted`` false."""
    return await asyncio.to_thread(_delete_file, inputs.path)


def _delete_file(value: str) -> FileDeleted:
    path = _paths.resolve(value, "path")
    if not path.is_symlink() and path.is_dir():
        raise ActivityError(f"property path: {path} is a folder (use delete_folder)")
    try:
        path.unlink()
    except FileNotFoundError:
        return FileDeleted(Path=str(path), Deleted=False)
    except OSError as exc:
        raise os_failure("delete file", exc) from None
    return FileDeleted(Path=str(path), Deleted=True)


# -- copy_file / move_file ---------------------------------------------------


class TransferInputs(Inputs):
    source: str
    """Absolute path of the file to copy or move."""
    destination: str
    """Absolute path of the new file, or of an existing folder to put it in (same name)."""
    overwrite: bool = False
    """Replace an existing destination file; without it an existing one fails the run."""
    create_folders: bool = False
    """Create the destination's missing parent folders."""


class FileTransferred(Published):
    Path: str
    """Where the file is now."""
    Size: int
    """Its size in bytes (0 for a folder)."""


def _target(inputs: TransferInputs) -> tuple[Path, Path]:
    source = _paths.resolve(inputs.source, "source")
    dest = _paths.resolve(inputs.destination, "destination")
    if dest.is_dir() and not dest.is_symlink():
        dest = dest / source.name
        _paths.check(dest, "destination")
    return source, dest


def _prepare_destination(dest: Path, overwrite: bool, create_folders: bool) -> None:
    if os.path.lexists(dest):
        if not overwrite:
            raise ActivityError(
                f"property destination: {dest} already exists (set overwrite to replace it)"
            )
        if dest.is_dir() and not dest.is_symlink():
            raise ActivityError(f"property destination: {dest} is a folder")
    parent = dest.parent
    if not parent.is_dir():
        if not create_folders:
            raise ActivityError(
                f"property destination: folder {parent} does not exist "
                "(set create_folders to create it)"
            )
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_failure("create folder", exc) from None


def _size(path: Path) -> int:
    st = path.lstat()
    return 0 if stat.S_ISDIR(st.st_mode) else st.st_size


@activity(
    "copy_file",
    display_name="Copy File",
    category="File Management",
    rerunnable=False,
)
async def copy_file(ctx: Context, inputs: TransferInputs) -> FileTransferred:
    """Copy a file (contents and permission bits) to a new path or into a folder."""
    return await asyncio.to_thread(_copy, inputs)


def _copy(inputs: TransferInputs) -> FileTransferred:
    source, dest = _target(inputs)
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist"
        raise ActivityError(f"property source: {source} {what}")
    if os.path.lexists(dest) and os.path.samefile(source, dest):
        raise ActivityError("property destination: is the source file itself")
    _prepare_destination(dest, inputs.overwrite, inputs.create_folders)
    try:
        shutil.copy2(source, dest)
    except OSError as exc:
        raise os_failure("copy", exc) from None
    return FileTransferred(Path=str(dest), Size=_size(dest))


@activity(
    "move_file",
    display_name="Move File",
    category="File Management",
    rerunnable=False,
)
async def move_file(ctx: Context, inputs: TransferInputs) -> FileTransferred:
    """Move a file (or a folder) to a new path or into a folder, across file systems too."""
    return await asyncio.to_thread(_move, inputs)


def _move(inputs: TransferInputs) -> FileTransferred:
    source, dest = _target(inputs)
    if not os.path.lexists(source):
        raise ActivityError(f"property source: {source} does not exist")
    if os.path.lexists(dest) and os.path.samefile(source, dest):
        raise ActivityError("property destination: is the source itself")
    _prepare_destination(dest, inputs.overwrite, inputs.create_folders)
    try:
        shutil.move(source, dest)
    except OSError as exc:
        raise os_failure("move", exc) from None
    return FileTransferred(Path=str(dest), Size=_size(dest))


# -- rename_file -------------------------------------------------------------


class RenameFileInputs(Inputs):
    path: str
    """Absolute path of the file or folder to rename."""
    new_name: str
    """The new name only (no folder part): it stays in the same folder."""
    overwrite: bool = False
    """Replace an existing file of that name."""


@activity(
    "rename_file",
    display_name="Rename File",
    category="File Management",
    rerunnable=False,
)
async def rename_file(ctx: Context, inputs: RenameFileInputs) -> FileTransferred:
    """Give a file or folder a new name in the same folder."""
    return await asyncio.to_thread(_rename, inputs)


def _rename(inputs: RenameFileInputs) -> FileTransferred:
    path = _paths.resolve(inputs.path, "path")
    name = inputs.new_name
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise ActivityError(f"property new_name: {name!r} is not a file name")
    dest = path.parent / name
    _paths.check(dest, "new_name")
    overwrite = inputs.overwrite
    if not os.path.lexists(path):
        raise ActivityError(f"property path: {path} does not exist")
    if os.path.lexists(dest):
        if not overwrite:
            raise ActivityError(
                f"property new_name: {dest} already exists (set overwrite to replace it)"
            )
        if dest.is_dir() and not dest.is_symlink():
            raise ActivityError(f"property new_name: {dest} is a folder")
    try:
        os.replace(path, dest)
    except OSError as exc:
        raise os_failure("rename", exc) from None
    return FileTransferred(Path=str(dest), Size=_size(dest))


# -- get_file_status ---------------------------------------------------------


class GetFileStatusInputs(Inputs):
    path: str
    """An absolute path or glob pattern (``*``, ``?``, ``[ab]``; ``**`` for any depth)."""
    include_hidden: bool = False
    """Let wildcards match names starting with a dot."""
    fail_if_none: bool = True
    """Fail when nothing matches; otherwise publish no items (the path below ends quietly)."""


class FileStatus(Published):
    Path: str
    """Full path."""
    Name: str
    """File or folder name."""
    Folder: str
    """The folder it is in."""
    Extension: str
    """Name suffix with its dot (``.log``), empty when none."""
    Size: int
    """Size in bytes (0 for a folder)."""
    ModifiedTime: datetime
    """Last modification, RFC 3339 UTC."""
    IsFolder: bool
    """true for a folder."""


@activity(
    "get_file_status",
    display_name="Get File Status",
    category="File Management",
    rerunnable=True,
)
async def get_file_status(ctx: Context, inputs: GetFileStatusInputs) -> list[FileStatus]:
    """Publish one item per file or folder matching ``path`` (sorted by path).

    Matches that resolve outside the allowed root are left out with a warning.
    """
    found, skipped = await asyncio.to_thread(_status, inputs.path, inputs.include_hidden)
    if skipped:
        ctx.warn(f"{skipped} match(es) outside the allowed root left out")
    if not found and inputs.fail_if_none:
        raise ActivityError(f"property path: nothing matches {inputs.path}")
    return found


def _fixed_prefix(pattern: Path) -> Path:
    """The longest leading part of ``pattern`` without wildcards."""
    parts: list[str] = []
    for part in pattern.parts:
        if glob.has_magic(part):
            break
        parts.append(part)
    return Path(*parts)


def _status(value: str, include_hidden: bool) -> tuple[list[FileStatus], int]:
    pattern = _paths.resolve(value, "path")
    text = str(pattern)
    if glob.has_magic(text):
        _paths.check(_fixed_prefix(pattern), "path")
        matches = sorted(glob.glob(text, recursive=True, include_hidden=include_hidden))
    else:
        matches = [text] if os.path.lexists(text) else []
    root = _paths.allowed_root()
    out: list[FileStatus] = []
    skipped = 0
    for match in matches:
        p = Path(match)
        if root is not None and not _paths.inside(p, root):
            skipped += 1
            continue
        try:
            st = p.stat()
        except FileNotFoundError:
            try:
                st = p.lstat()  # a dangling link
            except FileNotFoundError:
                continue  # removed meanwhile
        except OSError as exc:
            raise os_failure("read status", exc) from None
        folder = stat.S_ISDIR(st.st_mode)
        out.append(
            FileStatus(
                Path=str(p),
                Name=p.name,
                Folder=str(p.parent),
                Extension="" if folder else p.suffix,
                Size=0 if folder else st.st_size,
                ModifiedTime=datetime.fromtimestamp(st.st_mtime, UTC),
                IsFolder=folder,
            )
        )
    return out, skipped
