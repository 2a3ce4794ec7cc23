"""``orch ip new|install|list|docs`` — integration packs (SCO's Deployment Manager and Toolkit).

``new`` writes a pack project; ``install`` pip-installs a pack into this
environment (the one ``orch server`` runs from) and registers it — name,
version, activity types with their JSON Schemas — in the database; ``list``
shows every pack version and the runbook servers that report it; ``docs``
prints an installed pack's reference page. ``install`` and ``list`` talk to
the database directly (``--database-url`` / the embedded PostgreSQL of the
data folder), like ``orch db migrate``: they are an administrator's tools.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from orch.cli.main import cli
from orch.cli.output import handle_errors, json_option, print_json, run
from orch.config import Settings

_DB_OPTIONS = (
    click.option("--database-url", envvar="ORCH_DATABASE_URL", default=None,
                 help="PostgreSQL URL (default: the embedded PostgreSQL of the data folder)."),
    click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                 help="Data folder (default: ORCH_DATA_DIR or ./.orch)."),
)  # fmt: skip


def db_options(fn):  # type: ignore[no-untyped-def]
    for option in reversed(_DB_OPTIONS):
        fn = option(fn)
    return fn


@cli.group()
def ip() -> None:
    """Integration packs: create, install and register, list, document."""


@ip.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=".",
              help="Folder to create the pack project in (default: here).")
@json_option
@handle_errors
def new(name: str, folder: Path, as_json: bool) -> None:
    """Create a ready-to-install pack project NAME (one example activity and its test)."""
    from orch.packs.scaffold import module_name, scaffold

    root = scaffold(name, folder)
    if as_json:
        print_json({"path": str(root), "pack": module_name(name), "distribution": name})
        return
    click.echo(f"created {root}")
    click.echo(f"  test it:    cd {root} && pip install -e '.[test]' && pytest")
    click.echo(f"  install it: orch ip install {root}")


@ip.command("install")
@click.argument("target")
@click.option("--pip-arg", "pip_args", multiple=True, metavar="ARG",
              help="Extra argument for pip (repeatable), e.g. --pip-arg=--no-deps.")
@click.option("--no-register", is_flag=True, help="Only install; do not register in the database.")
@db_options
@json_option
@handle_errors
def install(target: str, pip_args: tuple[str, ...], no_register: bool,
            database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Install a pack (wheel, sdist or project folder) here and register it in the database.

    Restart the runbook servers of this environment to load it: each reports
    its packs at start, and claims only jobs whose activity types it has.
    """
    from orch.packs.install import distribution_name, installed_packs, pip_install

    dist = distribution_name(target)
    pip_install(target, pip_args)
    packs = installed_packs(dist)
    if not no_register:
        settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
        run(_register(settings, packs))
    if as_json:
        print_json([{"name": p.name, "version": p.version, "distribution": p.distribution,
                     "types": [t.name for t in p.types], "registered": not no_register}
                    for p in packs])  # fmt: skip
        return
    for p in packs:
        verb = "installed" if no_register else "installed and registered"
        click.echo(f"{verb} pack {p.name} {p.version} ({p.distribution}): "
                   f"{', '.join(t.name for t in p.types)}")  # fmt: skip


async def _register(settings: Settings, packs: list) -> None:  # type: ignore[type-arg]
    from orch.db.connect import connect, resolve_dsn
    from orch.db.packs import register_pack

    dsn, embedded = await resolve_dsn(settings)
    try:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                for p in packs:
                    await register_pack(conn, p, registered_by=_user())
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@ip.command("list")
@db_options
@json_option
@handle_errors
def list_(database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Every pack version, registered or reported, and the servers that have it."""
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    rows = run(_list(settings))
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no integration packs")
        return
    click.echo(f"{'PACK':<20} {'VERSION':<12} {'TYPES':>5}  SERVERS")
    for r in rows:
        servers = ", ".join(s + ("" if s in r.servers_up else " (not up)") for s in r.servers)
        note = "" if r.registered else "  [not registered]"
        click.echo(f"{r.name:<20} {r.version:<12} {len(r.types):>5}  {servers or '-'}{note}")


async def _list(settings: Settings) -> list:  # type: ignore[type-arg]
    from orch.db.connect import connect, resolve_dsn
    from orch.db.packs import list_packs

    dsn, embedded = await resolve_dsn(settings)
    try:
        conn = await connect(dsn)
        try:
            return await list_packs(conn)
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()


@ip.command("docs")
@click.argument("packs", nargs=-1)
@handle_errors
def docs(packs: tuple[str, ...]) -> None:
    """Print the activity reference (Markdown) of installed PACKS (default: the standard pack)."""
    from orch.sdk.docs import main

    code = main(list(packs))
    if code:
        sys.exit(code)

