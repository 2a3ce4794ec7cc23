"""Runbook servers as real subprocesses (``orch server``) for the tests that kill them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg

from tests.integration.helpers import eventually

_MAIN = "from orch.cli.main import main; main()"


class ServerProcess:
    def __init__(self, dsn: str, name: str, **settings: object) -> None:
        self.name = name
        env = dict(os.environ)
        env.update({
            "ORCH_DATABASE_URL": dsn,
            "ORCH_HEARTBEAT_SECONDS": "0.5",
            "ORCH_POLL_SECONDS": "0.5",
            "ORCH_SERVER_TIMEOUT_SECONDS": "5",
            "ORCH_SHUTDOWN_GRACE_SECONDS": "5",
            "ORCH_LOG_FORMAT": "json",
        })
        env.update({f"ORCH_{k.upper()}": str(v) for k, v in settings.items()})
        self.log = Path(tempfile.mkstemp(prefix=f"orch-{name}-", suffix=".log")[1])
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "server", "--name", name],
            env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )

    async def ready(self, pool: asyncpg.Pool, timeout: float = 30) -> None:
        """Wait until the process registered itself (it claims from then on)."""

        async def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server {self.name} exited:\n{self.output()}")
            async with pool.acquire() as conn:
                return bool(await conn.fetchval(
                    "SELECT 1 FROM servers WHERE name = $1 AND pid = $2 AND status = 'up'",
                    self.name, self.proc.pid))

        await eventually(up, timeout=timeout)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float = 30) -> int:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.proc.poll() is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"server {self.name} did not exit:\n{self.output()}")
            await asyncio.sleep(0.02)
        return self.proc.returncode

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()
        self.log.unlink(missing_ok=True)


async def instance_of(pool: asyncpg.Pool, job_id: str) -> str | None:
    async with pool.acquire() as conn:
        value = await conn.fetchval("SELECT instance_id::text FROM jobs WHERE id = $1",
                                    uuid.UUID(job_id))
    return value


__all__ = ["ServerProcess", "instance_of"]
