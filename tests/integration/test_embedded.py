"""The embedded PostgreSQL: who stops it, adoption after a crashed owner, crash recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from orch.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow

_OWNER = """
import sys, time
from orch.db.embedded import EmbeddedPostgres
pg = EmbeddedPostgres(sys.argv[1])
pg.start_sync()
print(pg.dsn_for("postgres"), flush=True)
time.sleep(600)
"""


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


async def _alive(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def test_owner_stops_users_do_not_and_a_dead_owner_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    # A process starts the server and is SIGKILLed: the server stays up, ownerless.
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(folder)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        dsn = ""
        while not dsn.startswith("postgresql://"):
            line = owner.stdout.readline()
            assert line, "the owner process exited early"
            dsn = line.strip()
        pid = _postmaster_pid(folder / "pg")
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    finally:
        if owner.poll() is None:
            owner.kill()
    assert await _alive(dsn)

    adopter = EmbeddedPostgres(folder)
    await adopter.start()
    user = EmbeddedPostgres(folder)
    await user.start()
    try:
        assert adopter.owner, "the dead owner's server is adopted"
        assert not user.owner, "a live owner exists: the second handle only uses it"
        assert _postmaster_pid(folder / "pg") == pid, "reused, not restarted"
        await user.stop()  # not the owner: a no-op
        assert await _alive(adopter.dsn)
    finally:
        await adopter.stop()
    assert _postmaster_pid(folder / "pg") is None
    assert not await _alive(dsn)


async def test_a_crashed_postmaster_is_restarted(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "data")
    await pg.start()
    try:
        conn = await asyncpg.connect(pg.dsn)
        await conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
        await conn.close()
        pid = _postmaster_pid(pg.pgdata)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _proc_exists(pid):
            time.sleep(0.05)
        again = EmbeddedPostgres(tmp_path / "data")
        await again.start()
        assert again.owner
        conn = await asyncpg.connect(again.dsn)
        assert await conn.fetchval("SELECT x FROM kept") == 42  # recovered from the WAL
        await conn.close()
        await again.stop()
    finally:
        await pg.stop()


def _proc_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
