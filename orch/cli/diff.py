"""``orch runbook diff OLD NEW`` — what changed between two runbook documents.

Each side is a document file, or a checked-in runbook read from the gateway:
its path or id, optionally with ``@VERSION`` (``/Ops/Restart@3``); without a
version, its current one. The diff is semantic (``orch.document.diff``):
activities and links added, removed and changed, property by property.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import click
import msgspec

from orch.cli.output import handle_errors, json_option, print_json, run
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import runbook
from orch.client import Client
from orch.document import DocumentInvalid, Runbook, decode_document
from orch.document.diff import diff_runbooks, render
from orch.errors import DocumentError, NotFound

_VERSIONED = re.compile(r"^(?P<ref>.+)@(?P<version>[0-9]+)$")


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a diff: the document and how to name it."""

    label: str
    document: Runbook


def is_remote(ref: str) -> bool:
    """A gateway reference (``/Path``, an id, either with ``@N``) rather than a file
    (a name ending in ``.json`` is always a file)."""
    base = m["ref"] if (m := _VERSIONED.match(ref)) else ref
    if base.endswith(".json"):
        return False
    if base.startswith("/"):
        return True
    try:
        uuid.UUID(base)
    except ValueError:
        return False
    return True


def read_file(file: Path) -> Side:
    try:
        return Side(str(file), decode_document(file.read_bytes()))
    except DocumentInvalid as e:
        raise DocumentError(f"{file}: {e.faults[0]}") from None


async def read_remote(client: Client, ref: str) -> Side:
    """A checked-in version (``/Path``, ``id``, ``…@N``) from the gateway."""
    m = _VERSIONED.match(ref)
    base, version = (m["ref"], int(m["version"])) if m else (ref, None)
    runbook_id = base
    if base.startswith("/"):
        found = await client.find_runbook(base)
        if found is None:
            raise NotFound(f"no runbook at {base}")
        runbook_id = found.id
    if version is None:
        detail = await client.get_runbook(runbook_id)
        document, label = detail.document, f"{detail.path} v{detail.current_version}"
    else:
        ver = await client.get_runbook_version(runbook_id, version)
        document, label = ver.document, f"{ver.path} v{ver.version}"
    return Side(label, decode_document(msgspec.json.encode(document)))


async def _remote_sides(remote: Remote, refs: list[str]) -> dict[str, Side]:
    async with remote.client() as client:
        return {ref: await read_remote(client, ref) for ref in refs}


@runbook.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@remote_options
@json_option
@handle_errors
def diff(old: str, new: str, remote: Remote, as_json: bool) -> None:
    """Show what changed from OLD to NEW (files, or /Path[@VERSION] in the gateway).

    Activities and links added (+), removed (-) and changed (~), with each
    changed property; runbook-level changes first.
    """
    sides: dict[str, Side] = {}
    remote_refs = []
    for ref in (old, new):
        if Path(ref).is_file() or not is_remote(ref):
            sides[ref] = read_file(Path(ref))
        else:
            remote_refs.append(ref)
    if remote_refs:
        sides.update(run(_remote_sides(remote, remote_refs)))
    before, after = sides[old], sides[new]
    result = diff_runbooks(before.document, after.document)
    if as_json:
        print_json(result)
        return
    click.echo(render(result, old_label=before.label, new_label=after.label))
