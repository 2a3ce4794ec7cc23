"""Runbook servers as real subprocesses, with the failover test pack, to kill and pause.

Intervals are short (heartbeat 0.2 s, timeout 1 s) so a failover takes about a
second; every wait is on database state with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from orch.db.assignment import set_runbook_servers
from orch.db.jobs import RunbookRow
from tests.integration.helpers import eventually

ROOT = Path(__file__).resolve().parents[3]
HEARTBEAT = 0.2
TIMEOUT = 1.0
FAST: dict[str, object] = {
    "heartbeat_seconds": HEARTBEAT,
    "poll_seconds": 0.5,
    "server_timeout_seconds": TIMEOUT,
    "shutdown_grace_seconds": 2,
    "log_format": "json",
}


class Server:
    """One ``orch server`` process (restartable under the same name)."""

    def __init__(self, dsn: str, name: str, **settings: object) -> None:
        self.dsn = dsn
        self.name = name
        self.settings = {**FAST, **settings}
        self.log = Path(tempfile.mkstemp(prefix=f"orch-{name}-", suffix=".log")[1])
        self._log_file = self.log.open("ab")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        env = dict(os.environ)
        env["ORCH_DATABASE_URL"] = self.dsn
        env.update({f"ORCH_{k.upper()}": str(v) for k, v in self.settings.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.failover.serve", "server",
             "--name", self.name],
            env=env, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def ready(self, pool: asyncpg.Pool, timeout: float = 30, status: str = "up") -> None:
        """Wait until this process registered itself (it claims from then on)."""

        async def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server {self.name} exited:\n{self.output()}")
            return bool(await pool.fetchval(
                "SELECT 1 FROM servers WHERE name = $1 AND pid = $2 AND status = $3",
                self.name, self.proc.pid, status))

        await eventually(up, timeout=timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.poll() is None:
            if loop.time() > deadline:
                raise AssertionError(f"server {self.name} did not exit:\n{self.output()}")
            await asyncio.sleep(0.02)
        return self.proc.returncode

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-6000:]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()
        self.log.unlink(missing_ok=True)


class Fleet:
    """Several servers, closed together (``async with Fleet(dsn) as fleet``)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.servers: dict[str, Server] = {}

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for s in self.servers.values():
            s.close()

    async def start(self, pool: asyncpg.Pool, *names: str, **settings: object) -> list[Server]:
        out = []
        for name in names:
            self.servers[name] = Server(self.dsn, name, **settings)
            out.append(self.servers[name])
        for s in out:
            await s.ready(pool)
        return out

    def __getitem__(self, name: str) -> Server:
        return self.servers[name]

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{s.output()}" for n, s in self.servers.items())


def effect(aid: str, file: Path, *, gate: Path | None = None, seconds: float = 0,
           rerunnable: bool = False) -> dict[str, Any]:
    """An activity of the test pack (see ``pack.py``)."""
    return {"id": aid, "type": "ft_step" if rerunnable else "ft_effect",
            "properties": {"file": str(file), "gate": str(gate) if gate else "",
                           "seconds": seconds}}


async def assign(pool: asyncpg.Pool, runbook: RunbookRow, *servers: str) -> None:
    async with pool.acquire() as conn:
        await set_runbook_servers(conn, uuid.UUID(runbook.id), list(servers), actor=None)


async def register(pool: asyncpg.Pool, *names: str) -> None:
    """Rows for servers not started yet (an assignment may only name known servers)."""
    for name in names:
        await pool.execute(
            "INSERT INTO servers (name, status, capacity) VALUES ($1, 'stopped', 10)"
            " ON CONFLICT DO NOTHING", name)


async def lines(file: Path, job_id: str, activity: str, n: int) -> bool:
    """Has ``activity`` of ``job_id`` left at least ``n`` side effects?"""
    if not file.exists():
        return False
    return file.read_text().splitlines().count(f"{job_id} {activity}") >= n


async def instance_row(pool: asyncpg.Pool, job_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT i.id::text AS id, i.server, i.epoch, i.status FROM jobs j"
        " JOIN instances i ON i.id = j.instance_id WHERE j.id = $1", uuid.UUID(job_id))


async def takeovers(pool: asyncpg.Pool, instance_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT seq, at, server, data FROM events WHERE instance_id = $1"
        " AND data ? 'taken_over_from' ORDER BY seq", uuid.UUID(instance_id))


async def run_rows(pool: asyncpg.Pool, instance_id: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT activity, status FROM activity_runs WHERE instance_id = $1"
        " AND superseded_at IS NULL ORDER BY seq", uuid.UUID(instance_id))
    return [(r["activity"], r["status"]) for r in rows]
