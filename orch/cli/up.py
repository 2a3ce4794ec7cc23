"""``orch up``: the whole system in one process, for a first look and for small installs.

Embedded PostgreSQL in the data folder (unless ``ORCH_DATABASE_URL`` /
``--database-url``), migrations, the first admin, the gateway and one
runbook server. Ctrl-C or SIGTERM stops it all in order — runbook server
(finishing or releasing its instances), gateway, pool, then the embedded
PostgreSQL — so no process is left behind and the next start finds every
runbook and job where it was.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orch.cli.gateway import DEFAULT_HOST, DEFAULT_PORT, StopSignal, serve_gateway
from orch.cli.ldap import DIRECTORY_HELP
from orch.cli.main import cli
from orch.cli.oidc import OIDC_HELP
from orch.cli.output import handle_errors, run
from orch.config import Settings
from orch.errors import OrchError
from orch.logging import configure as configure_logging
from orch.logging import get_logger

if TYPE_CHECKING:
    from orch.db.bootstrap import Credentials
    from orch.gateway.availability import Startup

log = get_logger("orch.cli.up")

BOOTSTRAP = "the admin user and token"
RUNBOOK_SERVER = "the runbook server"


def record_url(data_dir: Path, url: str) -> Path:
    """Write the URL being served into the credentials file (0600), keeping what it holds."""
    from orch.db.bootstrap import CREDENTIALS_FILE

    path = data_dir / CREDENTIALS_FILE
    try:
        content: dict[str, Any] = json.loads(path.read_text())
        if not isinstance(content, dict):
            content = {}
    except (OSError, ValueError):
        content = {}
    content["url"] = url
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(content, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _banner(
    url: str, settings: Settings, embedded: bool, creds: Credentials | None, creds_file: Path
) -> str:
    database = f"embedded PostgreSQL in {settings.data_dir.resolve() / 'pg'}" if embedded \
        else "ORCH_DATABASE_URL"
    lines = [
        "orch is up",
        f"  console:        {url}/",
        f"  API:            {url}/api/v1   (OpenAPI: {url}/api/v1/openapi.json)",
        f"  database:       {database}",
        f"  runbook server: {settings.server_name}",
    ]
    if creds is not None:
        lines += [
            "First start: the admin's credentials are shown this once and saved (mode 0600) in",
            f"  {creds_file}",
            f"  user:     {creds.user}",
            f"  password: {creds.password}",
            f"  token:    {creds.token}",
        ]
    else:
        lines.append(f"  credentials:    {creds_file}")
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


async def _up(settings: Settings, host: str, port: int) -> None:
    from orch.db.bootstrap import bootstrap_admin
    from orch.db.connect import create_pool, resolve_dsn
    from orch.db.migrate import migrate
    from orch.gateway.availability import Startup

    stop = StopSignal()
    stop.install()
    dsn, embedded = await resolve_dsn(settings)
    try:
        await migrate(dsn)
        pool = await create_pool(dsn, max_size=settings.pool_size)
        # Ready means ready: until the admin (and ORCH_ADMIN_TOKEN's token) exist and
        # the runbook server runs, the gateway answers 503 "starting" — a script that
        # waited for /health never gets a 401 for a token about to exist.
        startup = Startup()
        startup.wait_for(BOOTSTRAP, RUNBOOK_SERVER)
        try:
            async with serve_gateway(settings, pool, host, port, startup=startup) as url:
                # After the port is bound: a start that cannot listen creates no admin
                # whose secrets nobody saw.
                async with pool.acquire() as conn:
                    creds = await bootstrap_admin(
                        conn,
                        settings.data_dir,
                        token=os.environ.get("ORCH_ADMIN_TOKEN") or None,
                        password=os.environ.get("ORCH_ADMIN_PASSWORD") or None,
                    )
                creds_file = record_url(settings.data_dir.resolve(), url)
                startup.done(BOOTSTRAP)
                await _run_server(settings, dsn, stop, url, embedded is not None, creds,
                                  creds_file, startup)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await embedded.stop()
        stop.remove()


async def _run_server(settings: Settings, dsn: str, stop: StopSignal, url: str, embedded: bool,
                      creds: Credentials | None, creds_file: Path, startup: Startup) -> None:
    """Run the runbook server until a stop signal (or until it ends by itself, loudly)."""
    from orch.server import RunbookServer
    from orch.server.gctune import tune_gc

    server = RunbookServer(settings, dsn, name=settings.server_name)
    tune_gc()  # the gateway and the server are loaded: the heap that stays
    ready = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        server_task = tg.create_task(server.run(ready), name="runbook-server")
        ready_task = tg.create_task(ready.wait(), name="runbook-server-ready")
        stop_task = tg.create_task(stop.wait(), name="stop-signal")
        await asyncio.wait({ready_task, server_task, stop_task},
                           return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            startup.done(RUNBOOK_SERVER)  # from now on the gateway serves
            click.echo(_banner(url, settings, embedded, creds, creds_file))
            log.info("orch up", url=url, server=settings.server_name)
        await asyncio.wait({server_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        unexpected = server_task.done()
        if not unexpected:
            log.info("stopping", signal=stop.signal_name)
            server.request_shutdown()
        ready_task.cancel()
        stop_task.cancel()
    if unexpected:
        raise OrchError("the runbook server stopped by itself; orch up stopped everything")
    click.echo("orch stopped")


@cli.command(epilog=f"{DIRECTORY_HELP}\n\n{OIDC_HELP}")
@click.option("--data-dir", envvar="ORCH_DATA_DIR", default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Data folder: embedded PostgreSQL and credentials [env ORCH_DATA_DIR; ./.orch].")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: pick a free one and print it).")
@click.option("--database-url", envvar="ORCH_DATABASE_URL", default=None,
              help="Use this PostgreSQL instead of the embedded one.")
@handle_errors
def up(data_dir: Path | None, host: str, port: int, database_url: str | None) -> None:
    """Start orch: database, gateway and a runbook server in one process."""
    configure_logging()
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    run(_up(settings, host, port))
