"""``orch runbook import-sco FILE.ois_export… [--folder /Dest] [--dry-run] [--json]``.

Each file is sent to the gateway (``POST /runbooks/import-sco``), which
imports it in one transaction. With several files, every file is first
imported as a dry run; only when all of them pass is each one imported for
real (in the order given, so a child runbook in an earlier file is found by
a Trigger Policy in a later one). Any refusal — not XML, not an export, too
large, a runbook that would be invalid, missing rights — is one line on
stderr naming the file, exit status 1, and nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import msgspec

from orch.api.sco import ScoImportReport
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.cli.remote import Remote, remote_options
from orch.cli.runbook import runbook
from orch.client import ApiError
from orch.importers.sco import MAX_EXPORT_BYTES


class FileReport(msgspec.Struct, kw_only=True):
    file: str
    report: ScoImportReport


def _read(files: tuple[Path, ...]) -> list[tuple[Path, bytes]]:
    out = []
    for file in files:
        try:
            size = file.stat().st_size
            if size > MAX_EXPORT_BYTES:
                fail(f"{file}: the export is {size} bytes; at most {MAX_EXPORT_BYTES} are "
                     "accepted (export fewer runbooks at a time)")  # fmt: skip
            out.append((file, file.read_bytes()))
        except OSError as e:
            fail(f"{file}: cannot read the file: {e.strerror or e}")
    return out


async def _import(remote: Remote, exports: list[tuple[Path, bytes]], folder: str,
                  dry_run: bool, progress: bool) -> list[FileReport]:  # fmt: skip
    async with remote.client() as client:
        rounds = [True] if dry_run else ([True, False] if len(exports) > 1 else [False])
        reports: list[FileReport] = []
        for dry in rounds:
            reports = []
            for i, (file, data) in enumerate(exports, start=1):
                if progress:
                    what = "checking" if dry else "importing"
                    click.echo(f"{what} {file} ({i}/{len(exports)}, {len(data)} bytes)…",
                               err=True)  # fmt: skip
                try:
                    report = await client.import_sco(data, folder=folder, dry_run=dry)
                except ApiError as e:
                    where = f" at {e.path}" if e.path and e.path != "$" else ""
                    fail(f"{file}: {e.message}{where}; nothing was imported")
                reports.append(FileReport(file=str(file), report=report))
        return reports


def _show(item: FileReport) -> None:
    r = item.report
    click.echo(f"{item.file}:")
    verbs = {"created": "would create", "updated": "would update", "unchanged": "would leave"}
    for rb in r.runbooks:
        action = verbs[rb.action] if r.dry_run else rb.action
        state = "enabled" if rb.enabled else "DISABLED: review, then `orch runbook enable`"
        version = f" v{rb.version}" if rb.version is not None else ""
        click.echo(f"  {action} {rb.path}{version} ({state})")
        for a in rb.activities:
            mark = "  PLACEHOLDER" if a.placeholder else ""
            off = " (disabled)" if not a.enabled else ""
            click.echo(f"      {a.name} [{a.sco_type}] -> {a.id}: {a.type}{off}{mark}")
        for w in rb.warnings:
            click.echo(f"      warning: {w}")
    for v in r.variables:
        need = (f", needs a value: orch variable set {v.name} VALUE --encrypted"
                if v.needs_value else "")
        kind = "encrypted" if v.encrypted else "text"
        click.echo(f"  variable {v.name} ({kind}, {v.action}{need})")
    for c in r.counters:
        click.echo(f"  counter {c.name} = {c.default} ({c.action})")
    for s in r.schedules:
        click.echo(f"  schedule {s.name}" + (" (needs a definition)" if s.needs_definition
                                              else " (exists)"))
    for w in r.warnings:
        click.echo(f"  warning: {w}")


@runbook.command("import-sco")
@click.argument("files", nargs=-1, required=True, metavar="FILE.ois_export...",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--folder", default="/", show_default=True, metavar="/DEST",
              help="Folder that stands for the export's outermost folder.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@remote_options
@json_option
@handle_errors
def import_sco(files: tuple[Path, ...], folder: str, dry_run: bool, remote: Remote,
               as_json: bool) -> None:  # fmt: skip
    """Import System Center Orchestrator exports: runbooks, variables and counters.

    Runbooks with placeholders (activities orch cannot run) or warnings are
    imported disabled; read the report, set the encrypted variables it names,
    then enable them with `orch runbook enable PATH`.
    """
    exports = _read(files)
    reports = run(_import(remote, exports, folder, dry_run, progress=not as_json))
    if as_json:
        print_json(reports)
        return
    for item in reports:
        _show(item)
    runbooks = [rb for item in reports for rb in item.report.runbooks]
    disabled = [rb.path for rb in runbooks if not rb.enabled]
    needs = sorted({v.name for item in reports for v in item.report.variables if v.needs_value})
    verb = "would import" if dry_run else "imported"
    line = f"{verb} {len(runbooks)} runbook{'s' if len(runbooks) != 1 else ''}"
    if disabled:
        line += f", {len(disabled)} disabled until reviewed"
    if needs:
        line += "; set the encrypted variables " + ", ".join(needs)
    click.echo(line)
    sys.exit(0)
