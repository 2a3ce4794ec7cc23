"""``orch deploy server NAME`` — register a runbook server and its runbooks before it starts.

The server's row is created with status ``stopped`` (it turns ``up`` when
``orch server --name NAME`` starts); ``--primary-for PATH`` makes it the
first server of a runbook's assignment, ``--standby-for PATH`` appends it as
a standby. Talks to the database directly, like ``orch db migrate``.
"""

from __future__ import annotations

from pathlib import Path

import click

from orch.cli.main import cli
from orch.cli.output import fail, handle_errors, json_option, print_json, run
from orch.cli.packs import db_options
from orch.config import Settings


@cli.group()
def deploy() -> None:
    """Deployment: register runbook servers ahead of their first start."""


@deploy.command("server")
@click.argument("name")
@click.option("--primary-for", "primary", multiple=True, metavar="PATH",
              help="Runbook (path or id) this server is the primary for (repeatable).")
@click.option("--standby-for", "standby", multiple=True, metavar="PATH",
              help="Runbook (path or id) this server is a standby for, after the others.")
@click.option("--capacity", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Most instances it runs at once (its start may override it).")
@db_options
@json_option
@handle_errors
def server(name: str, primary: tuple[str, ...], standby: tuple[str, ...], capacity: int,
           database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Register runbook server NAME and its runbook assignments."""
    if not name.strip():
        fail("a server name is required")
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    result = run(_deploy(settings, name.strip(), capacity, primary, standby))
    if as_json:
        print_json(result)
        return
    state = "registered" if result["created"] else "updated"
    click.echo(f"{state} runbook server {name} (status {result['status']}, "
               f"capacity {result['capacity']})")  # fmt: skip
    for path, servers in result["assignments"].items():
        click.echo(f"  {path}: {' > '.join(servers)}")


async def _deploy(settings: Settings, name: str, capacity: int,
                  primary: tuple[str, ...], standby: tuple[str, ...]) -> dict[str, object]:
    from orch.db.connect import connect, resolve_dsn
    from orch.db.jobs import resolve_runbook
    from orch.db.packs import assign_runbook_servers, deploy_server
    from orch.errors import NotFound

    dsn, embedded = await resolve_dsn(settings)
    try:
        conn = await connect(dsn)
        try:
            async with conn.transaction():
                row = await deploy_server(conn, name, capacity)
                assignments: dict[str, list[str]] = {}
                for ref, is_primary in [*((p, True) for p in primary),
                                        *((s, False) for s in standby)]:  # fmt: skip
                    rb = await resolve_runbook(conn, ref)
                    if rb is None:
                        raise NotFound(f"no runbook {ref}")
                    assignments[rb.path] = await assign_runbook_servers(
                        conn, rb.id, name, primary=is_primary)
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await embedded.stop()
    return {**row, "assignments": assignments}
