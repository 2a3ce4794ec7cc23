"""``orch gateway``: the REST API alone, against ``ORCH_DATABASE_URL`` or the embedded database.

Also the pieces ``orch up`` shares: serving ``make_app`` on a host and port
(``--port 0`` picks a free one), and waiting for Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import click
from aiohttp import web

from orch.cli.main import cli
from orch.cli.output import handle_errors, run
from orch.config import Settings
from orch.errors import ConfigError
from orch.gateway import make_app
from orch.gateway.availability import STARTUP, Startup
from orch.logging import configure as configure_logging
from orch.logging import get_logger

log = get_logger("orch.cli.gateway")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


@asynccontextmanager
async def serve_gateway(
    settings: Settings, pool: asyncpg.Pool, host: str, port: int,
    *, startup: Startup | None = None,
) -> AsyncIterator[str]:
    """Serve the gateway until the block exits; yields its base URL (with the real port).

    ``startup``: what the caller still has to do before the gateway may serve
    (``orch up``: the admin, the runbook server); until then it answers 503
    ``starting`` (``orch.gateway.availability``).
    """
    app = make_app(settings, pool)
    if startup is not None:
        app[STARTUP] = startup
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as e:
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        bound_port = runner.addresses[0][1]
        url_host = f"[{host}]" if ":" in host else host
        yield f"http://{url_host}:{bound_port}"
    finally:
        await runner.cleanup()


class StopSignal:
    """Ctrl-C and SIGTERM set an event instead of killing the process mid-write."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal_name: str | None = None

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.event.is_set():
            log.warning("already stopping", signal=sig.name)
            return
        self.signal_name = sig.name
        self.event.set()

    async def wait(self) -> None:
        await self.event.wait()


async def _gateway(settings: Settings, host: str, port: int) -> None:
    from orch.db.connect import create_pool, resolve_dsn

    stop = StopSignal()
    stop.install()
    dsn, embedded = await resolve_dsn(settings)
    try:
        pool = await create_pool(dsn, max_size=settings.pool_size)
        try:
            async with serve_gateway(settings, pool, host, port) as url:
                click.echo(f"gateway on {url}/api/v1  (OpenAPI: {url}/api/v1/openapi.json)")
                log.info("gateway started", url=url)
                await stop.wait()
                log.info("gateway stopping", signal=stop.signal_name)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await embedded.stop()
        stop.remove()


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: pick a free one and print it).")
@click.option("--database-url", envvar="ORCH_DATABASE_URL", default=None,
              help="PostgreSQL URL (default: the embedded PostgreSQL of the data folder).")
@click.option("--data-dir", envvar="ORCH_DATA_DIR", default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Data folder [env ORCH_DATA_DIR; ./.orch].")
@handle_errors
def gateway(host: str, port: int, database_url: str | None, data_dir: Path | None) -> None:
    """Run the gateway (REST API) alone; stop with Ctrl-C or SIGTERM."""
    configure_logging()
    settings = Settings.from_env(database_url=database_url, data_dir=data_dir)
    run(_gateway(settings, host, port))
