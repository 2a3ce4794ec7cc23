"""``orch purge``: remove finished jobs, events, instance log lines and audit entries
older than a retention, straight on the database (as SCO's log purge)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from orch.cli.main import cli
from orch.cli.output import handle_errors, json_option, print_json, run
from orch.cli.packs import db_options
from orch.config import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhms])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``."""
    m = _DURATION.match(text)
    if m is None:
        raise click.BadParameter(f"{text!r} is not a duration like 30d, 12h, 90m or 45s")
    return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})


class _Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        return value if isinstance(value, timedelta) else parse_duration(value)


@cli.command()
@click.option("--older-than", "older_than", type=_Duration(), required=True,
              help="Purge finished jobs (and everything under them), events and instance "
                   "log lines older than this: 30d, 12h, 90m, 45s.")
@click.option("--audit-older-than", type=_Duration(), default=None,
              help="Purge audit entries older than this (default: ORCH_AUDIT_RETENTION_DAYS; "
                   "unset: the audit log is kept).")
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Rows per transaction.")
@db_options
@json_option
@handle_errors
def purge(older_than: timedelta, audit_older_than: timedelta | None, dry_run: bool,
          batch: int, database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Purge job history, events, logs and (with a retention) the audit log."""
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    if audit_older_than is None and settings.audit_retention_days is not None:
        audit_older_than = timedelta(days=settings.audit_retention_days)
    now = datetime.now(UTC)
    cutoff = now - older_than
    audit_cutoff = None if audit_older_than is None else now - audit_older_than

    def progress(what: str, n: int) -> None:
        if not as_json:
            click.echo(f"  {what}: {n} removed", err=True)

    result = run(_purge(settings, cutoff, audit_cutoff, dry_run, batch, progress))
    if as_json:
        print_json({"dry_run": dry_run, "jobs": result.jobs, "events": result.events,
                    "instance_log": result.instance_log, "audit": result.audit})
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb}: {result.jobs} jobs, {result.events} events, "
               f"{result.instance_log} log lines, {result.audit} audit entries")


async def _purge(settings: Settings, cutoff: datetime, audit_cutoff: datetime | None,
                 dry_run: bool, batch: int, progress):  # type: ignore[no-untyped-def]
    from orch.db.connect import connect, resolve_dsn
    from orch.db.purge import count, purge

    dsn, embedded = await resolve_dsn(settings)
    try:
        conn = await connect(dsn)
        try:
            if dry_run:
                return await count(conn, cutoff=cutoff, audit_cutoff=audit_cutoff)
            return await purge(conn, cutoff=cutoff, audit_cutoff=audit_cutoff, batch=batch,
                               progress=progress)
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()
