"""``orch server --name NAME [--capacity N]`` — run a runbook server until SIGTERM/SIGINT.

``orch server`` is also the group of the verbs that manage servers through
the gateway (``drain``, ``maintenance``: ``orch.cli.servers``); without a verb
it runs one.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from orch.cli.main import cli
from orch.config import Settings
from orch.logging import configure as configure_logging


@cli.group(invoke_without_command=True)
@click.option("--name", default=None, help="Server name (default: ORCH_SERVER_NAME or host name).")
@click.option("--capacity", type=int, default=None,
              help="Most instances at once (default: ORCH_CAPACITY or 1000).")
@click.option("--database-url", envvar="ORCH_DATABASE_URL", default=None,
              help="PostgreSQL URL (default: the embedded PostgreSQL of the data folder).")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Data folder (default: ORCH_DATA_DIR or ./.orch).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve Prometheus /metrics on 127.0.0.1:PORT (default: ORCH_METRICS_PORT; "
                   "unset: no listener).")
@click.pass_context
def server(
    ctx: click.Context, name: str | None, capacity: int | None, database_url: str | None,
    data_dir: Path | None, metrics_port: int | None,
) -> None:
    """Run a runbook server: claim jobs and run them until SIGTERM/SIGINT (then hand over).

    With a verb, manage a server through the gateway instead (drain, maintenance).
    """
    if ctx.invoked_subcommand is not None:
        return
    configure_logging()
    settings = Settings.from_env(
        server_name=name, capacity=capacity, database_url=database_url, data_dir=data_dir,
        metrics_port=metrics_port,
    )
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))


async def serve(settings: Settings, ready: asyncio.Event | None = None) -> None:
    """Migrate, run one server, stop the embedded PostgreSQL if this process started it."""
    from orch.db.connect import resolve_dsn
    from orch.db.migrate import migrate
    from orch.server import RunbookServer
    from orch.server.gctune import tune_gc

    dsn, embedded = await resolve_dsn(settings)
    try:
        await migrate(dsn)
        srv = RunbookServer(settings, dsn, name=settings.server_name)
        tune_gc()  # after the imports and the registry: the heap that stays
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, srv.request_shutdown)
        try:
            await srv.run(ready)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
    finally:
        if embedded is not None:
            await embedded.stop()
