"""``orch runbook check-in`` and ``orch runbook list`` (added to the ``runbook`` group).

Check-in is what a designer means by it: the first check-in of a document
creates the runbook at its path, later ones add a version — unless the
document is identical to the current version, which changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click
import msgspec

from orch.api import CheckInResult, RunbookSummary
from orch.cli.output import handle_errors, json_option, print_json, run
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import runbook
from orch.client import ApiError, Client
from orch.db.catalog import document_hash
from orch.document.model import decode


class CheckInOutcome(CheckInResult, kw_only=True):
    action: Literal["created", "updated", "unchanged"]


async def _check_in_one(client: Client, file: Path, body: bytes, comment: str) -> CheckInOutcome:
    try:
        result = await client.check_in(body, comment=comment)
        return CheckInOutcome(**msgspec.structs.asdict(result), action="created")
    except ApiError as e:
        if e.status != 409:
            raise ApiError(e.status, e.code, f"{file}: {e.message}", path=e.path,
                           faults=e.faults) from None
    # The path is taken: check in a new version of the runbook living there.
    document = decode(body)  # the gateway accepted its structure, so this decodes
    existing = await client.find_runbook(document.path)
    if existing is None:  # removed meanwhile: try a plain check-in again
        result = await client.check_in(body, comment=comment)
        return CheckInOutcome(**msgspec.structs.asdict(result), action="created")
    detail = await client.get_runbook(existing.id)
    current = detail.versions[-1]
    if current.hash == document_hash(document):
        return CheckInOutcome(id=detail.id, version=current.version, path=detail.path,
                              hash=current.hash, action="unchanged")
    result = await client.check_in_version(existing.id, body, comment=comment)
    return CheckInOutcome(**msgspec.structs.asdict(result), action="updated")


async def _check_in(
    remote: Remote, documents: list[tuple[Path, bytes]], comment: str
) -> list[CheckInOutcome]:
    async with remote.client() as client:
        return [await _check_in_one(client, f, body, comment) for f, body in documents]


@runbook.command("check-in")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--comment", "-m", default="", help="Comment recorded with the new version.")
@remote_options
@json_option
@handle_errors
def check_in(files: tuple[Path, ...], comment: str, remote: Remote, as_json: bool) -> None:
    """Check in runbook documents: create each runbook, or add a version to it."""
    documents = [(f, f.read_bytes()) for f in files]
    outcomes = run(_check_in(remote, documents, comment))
    if as_json:
        print_json(outcomes)
        return
    for o in outcomes:
        click.echo(f"{o.action} {o.path} version {o.version} (id {o.id})")


async def _list(remote: Remote, folder: str | None) -> list[RunbookSummary]:
    async with remote.client() as client:
        return [item async for item in client.iter_runbooks(folder)]


@runbook.command("list")
@click.option("--folder", default=None, help="Only runbooks in this folder or below.")
@remote_options
@json_option
@handle_errors
def list_runbooks(folder: str | None, remote: Remote, as_json: bool) -> None:
    """List checked-in runbooks by path."""
    items = run(_list(remote, folder))
    if as_json:
        print_json(items)
        return
    if not items:
        click.echo("no runbooks")
        return
    width = max(len(r.path) for r in items)
    for r in items:
        note = f"  checked out by {r.checked_out_by}" if r.checked_out_by else ""
        monitor = "  monitor" if r.is_monitor else ""
        click.echo(f"{r.path:<{width}}  v{r.current_version:<4} {r.id}{monitor}{note}")
