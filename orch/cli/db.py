"""``orch db migrate`` — bring the database to the current schema; first run creates the admin."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click
import msgspec

from orch.cli.main import cli
from orch.cli.output import handle_errors
from orch.config import Settings
from orch.logging import configure as configure_logging


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@click.option("--database-url", envvar="ORCH_DATABASE_URL", default=None,
              help="PostgreSQL URL (default: the embedded PostgreSQL of the data folder).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data folder (default: ORCH_DATA_DIR or ./.orch).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def migrate(database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Apply pending migrations (idempotent; safe when several processes start at once)."""
    configure_logging()
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    result = asyncio.run(_migrate(settings))
    if as_json:
        click.echo(msgspec.json.encode(result).decode())
        return
    click.echo(f"schema version {result['schema_version']}")
    creds = result.get("admin")
    if creds:
        click.echo(f"created user admin — password: {creds['password']}")
        click.echo(f"admin token (shown once): {creds['token']}")
        click.echo(f"saved to {result['credentials_file']} (mode 0600)")


async def _migrate(settings: Settings) -> dict[str, object]:
    from orch.db.bootstrap import CREDENTIALS_FILE, bootstrap_admin
    from orch.db.connect import resolve_dsn
    from orch.db.migrate import connect_primary
    from orch.db.migrate import migrate as run_migrations

    dsn, embedded = await resolve_dsn(settings)
    try:
        conn = await connect_primary(dsn)  # refused, in one line, on a standby
        try:
            version = await run_migrations(conn)
            creds = await bootstrap_admin(
                conn,
                settings.data_dir,
                token=os.environ.get("ORCH_ADMIN_TOKEN") or None,
                password=os.environ.get("ORCH_ADMIN_PASSWORD") or None,
                url=settings.url,
            )
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()
    out: dict[str, object] = {"schema_version": version, "admin": None}
    if creds is not None:
        out["admin"] = msgspec.to_builtins(creds)
        out["credentials_file"] = str(settings.data_dir / CREDENTIALS_FILE)
    return out
