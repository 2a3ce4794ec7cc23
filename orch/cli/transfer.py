"""``orch runbook export FOLDER DIR`` and ``orch runbook import DIR``: runbooks in git.

Export writes every runbook under a folder as one JSON file per runbook,
mirroring the folder tree below it (``/Ops/Services/Restart`` exported from
``/Ops`` is ``DIR/Services/Restart.json``), with fields at their default
value left out so the files stay short and diff well.

Import reads every ``*.json`` file under DIR and checks them in through
``POST /runbooks/import``: all of them or none. Files that cannot be read
as documents are reported here; the others are validated by the gateway
(with *its* activity packs), which reports every fault of every document.
If anything is wrong, every problem is listed and nothing changes. A
document at a new path creates a runbook, one at a taken path adds a
version unless it is identical to the current one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from orch.api.transfer import ImportResult
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import FileFault, runbook
from orch.client import ApiError
from orch.document import DocumentInvalid, Runbook, decode_document
from orch.document.model import normalize_folder

_DOCUMENT_INDEX = re.compile(r"^\$\.documents\[(?P<i>[0-9]+)\](?P<rest>.*)$")


# ---- export ---------------------------------------------------------------------------------


def compact(value: Any) -> Any:
    """JSON of a document with every field at its default left out (decodes to the same)."""
    if isinstance(value, msgspec.Struct):
        out: dict[str, Any] = {}
        for f in msgspec.structs.fields(value):
            v = getattr(value, f.name)
            if f.default is not msgspec.NODEFAULT and v == f.default:
                continue
            if f.default_factory is not msgspec.NODEFAULT and v == f.default_factory():
                continue
            out[f.encode_name] = compact(v)
        return out
    if isinstance(value, list):
        return [compact(v) for v in value]
    if isinstance(value, dict):
        return {k: compact(v) for k, v in value.items()}
    return value


def export_file(directory: Path, folder: str, document: Runbook) -> Path:
    """Where a runbook of ``folder`` (or below) goes under ``directory``.

    The document's folder is read as stored, not through the path check: a
    runbook checked in before ``.``/``..`` segments were refused must still be
    exportable, and :func:`_safe` keeps such segments inside ``directory``.
    """
    own = [p for p in document.folder.split("/") if p]
    base = [p for p in normalize_folder(folder).split("/") if p]
    relative = own[len(base) :] if own[: len(base)] == base else own
    return directory.joinpath(*map(_safe, relative), f"{_safe(document.name)}.json")


def _safe(segment: str) -> str:
    """A path segment that stays inside the export folder (``..`` is not a parent)."""
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


async def _export(remote: Remote, folder: str) -> list[tuple[Runbook, int]]:
    async with remote.client() as client:
        out = []
        async for summary in client.iter_runbooks(folder):
            detail = await client.get_runbook(summary.id)
            document = decode_document(msgspec.json.encode(detail.document))
            out.append((document, detail.current_version))
        return out


class Exported(msgspec.Struct, kw_only=True):
    path: str
    version: int
    file: str


@runbook.command("export")
@click.argument("folder", metavar="FOLDER")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@remote_options
@json_option
@handle_errors
def export(folder: str, directory: Path, remote: Remote, as_json: bool) -> None:
    """Write every runbook under FOLDER (current versions) as JSON files in DIR.

    The files mirror the folder tree below FOLDER; existing files of the same
    names are overwritten, others are left alone.
    """
    folder = normalize_folder(folder)
    runbooks = run(_export(remote, folder))
    written: list[Exported] = []
    for document, version in runbooks:
        file = export_file(directory, folder, document)
        file.parent.mkdir(parents=True, exist_ok=True)
        text = msgspec.json.format(msgspec.json.encode(compact(document)), indent=2)
        file.write_bytes(text + b"\n")
        written.append(Exported(path=document.path, version=version, file=str(file)))
    if as_json:
        print_json(written)
    elif not written:
        click.echo(f"no runbooks under {folder}")
    for w in [] if as_json else written:
        click.echo(f"wrote {w.file} ({w.path} v{w.version})")


# ---- import ---------------------------------------------------------------------------------


class Imported(msgspec.Struct, kw_only=True):
    file: str
    path: str
    id: str
    version: int
    action: str


def read_documents(directory: Path) -> tuple[list[tuple[Path, Any]], list[FileFault]]:
    """Every ``*.json`` file under ``directory`` as (file, parsed JSON), and the faults of
    those that are not documents (unreadable, not JSON, wrong structure, same path twice)."""
    files = sorted(p for p in directory.rglob("*.json") if p.is_file())
    good: list[tuple[Path, Any]] = []
    faults: list[FileFault] = []
    paths: dict[str, Path] = {}
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as e:
            faults.append(FileFault(str(file), "$", f"cannot read the file: {e.strerror}",
                                    "unreadable"))  # fmt: skip
            continue
        try:
            document = decode_document(data)
        except DocumentInvalid as e:
            faults.extend(FileFault(str(file), f.path, f.message, f.code) for f in e.faults)
            continue
        other = paths.setdefault(document.path, file)
        if other != file:
            faults.append(FileFault(str(file), "$.name",
                                    f"{document.path} is also the path of {other}",
                                    "duplicate-path"))  # fmt: skip
            continue
        good.append((file, msgspec.json.decode(data)))
    return good, faults


def gateway_faults(error: ApiError, files: list[Path]) -> list[FileFault]:
    """The gateway's ``$.documents[i]…`` faults, each attached to its file."""
    out: list[FileFault] = []
    for f in error.faults:
        m = _DOCUMENT_INDEX.match(f.path)
        if m is None or int(m["i"]) >= len(files):
            out.append(FileFault("(import)", f.path, f.message, f.code))
            continue
        out.append(FileFault(str(files[int(m["i"])]), "$" + m["rest"], f.message, f.code))
    return out


async def _import(
    remote: Remote, documents: list[Any], comment: str, dry_run: bool
) -> ImportResult:
    async with remote.client() as client:
        return await client.import_runbooks(documents, comment=comment, dry_run=dry_run)


def _report(faults: list[FileFault], as_json: bool) -> None:
    if as_json:
        print_json({"imported": False, "faults": faults})
    else:
        for f in faults:
            click.echo(f"{f.file}: {f.path}: {f.message} [{f.code}]")
        bad = len({f.file for f in faults})
        click.echo(f"{bad} invalid document{'s' if bad != 1 else ''}: nothing was imported",
                   err=True)  # fmt: skip
    sys.exit(1)


@runbook.command("import")
@click.argument(
    "directory", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--comment", "-m", default="", help="Comment recorded with each new version.")
@click.option(
    "--dry-run", is_flag=True, help="Validate and show what would change, but write nothing."
)
@remote_options
@json_option
@handle_errors
def import_(directory: Path, comment: str, dry_run: bool, remote: Remote, as_json: bool) -> None:
    """Check in every runbook document under DIR, all or nothing.

    Every invalid document is reported (exit 1) and then nothing changes.
    A document at a new path creates a runbook; at a taken path it adds a
    version, unless it is identical to the current one.
    """  # fmt: skip
    good, faults = read_documents(directory)
    if not good and not faults:
        fail(f"no .json files under {directory}")
    files = [file for file, _ in good]
    documents = [doc for _, doc in good]
    if not good:
        _report(faults, as_json)
    try:
        result = run(_import(remote, documents, comment, dry_run or bool(faults)))
    except ApiError as e:
        if e.status != 422 or not e.faults:
            raise
        _report(faults + gateway_faults(e, files), as_json)
        return
    if faults:
        _report(faults, as_json)
    imported = [
        Imported(file=str(file), path=item.path, id=item.id, version=item.version,
                 action=item.action)
        for file, item in zip(files, result.items, strict=True)
    ]  # fmt: skip
    if as_json:
        print_json({"imported": not result.dry_run, "items": imported})
        return
    verb = {"created": "create", "updated": "update", "unchanged": "leave"}
    for i in imported:
        if result.dry_run:
            click.echo(f"would {verb[i.action]} {i.path}")
        else:
            where = f"version {i.version}" if i.action != "unchanged" else f"still v{i.version}"
            click.echo(f"{i.action} {i.path} {where} ({i.file})")
