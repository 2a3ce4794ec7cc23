"""``orch runbook …`` — author-side verbs (validate, check-in, list …)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import msgspec

from orch.cli.main import cli


@cli.group()
def runbook() -> None:
    """Validate, check in and list runbooks."""


class FileFault(msgspec.Struct):
    """One fault of one file, as ``validate --json`` prints it."""

    file: str
    path: str
    message: str
    code: str


def file_faults(name: str) -> list[FileFault]:
    """Every fault of a runbook file; an unreadable file or bad JSON is one fault at ``$``."""
    from orch.document import DocumentInvalid, load

    try:
        data = Path(name).read_bytes()
    except OSError as e:
        return [FileFault(name, "$", f"cannot read the file: {e.strerror or e}", "unreadable")]
    try:
        load(data)
    except DocumentInvalid as e:
        return [FileFault(name, f.path, f.message, f.code) for f in e.faults]
    return []


@runbook.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print the faults as a JSON list.")
def validate(files: tuple[str, ...], as_json: bool) -> None:
    """Check runbook documents against every rule; exit 1 when any has a fault."""
    faults: list[FileFault] = []
    for name in files:
        found = file_faults(name)
        faults.extend(found)
        if as_json:
            continue
        if not found:
            click.echo(f"{name}: valid")
        for f in found:
            if f.code in ("unreadable", "bad-json"):
                click.echo(f"{name}: error: {f.message}", err=True)
            else:
                click.echo(f"{name}: {f.path}: {f.message} [{f.code}]")
    if as_json:
        click.echo(msgspec.json.encode(faults).decode())
    sys.exit(1 if faults else 0)
