"""A third-party pack from ``orch ip new``: its own test passes, it installs, registers,
is matched to the server that has it (one has it, one does not), and runs in a runbook.

The pack is installed into a throw-away virtual environment that sees the
project's packages (a ``.pth`` adds the project's site-packages), so the
project's own environment never holds it: a runbook server started from the
throw-away environment has the pack, the in-process server does not.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import site
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from orch.packs.scaffold import scaffold
from orch.sdk import Registry
from tests.integration.helpers import eventually, runbook_doc, start, start_job, wait_job
from tests.integration.packs.helpers import check_in_with, core_registry, server

pytestmark = pytest.mark.slow

MAIN = "from orch.cli.main import main; main()"
PIP_ARGS = ["--pip-arg=--no-build-isolation", "--pip-arg=--no-deps"]


class PackVenv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = str(root / "venv" / "bin" / "python")
        self.site = Path(
            subprocess.check_output([self.python, "-c", "import sysconfig; "
                                     "print(sysconfig.get_paths()['purelib'])"], text=True).strip()
        )  # fmt: skip

    def run(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run([self.python, *args], capture_output=True, text=True,
                              env=env, cwd=cwd, timeout=300, check=False)  # fmt: skip

    def orch(self, *args: str, dsn: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, ORCH_DATABASE_URL=dsn)
        return self.run("-c", MAIN, *args, env=env)


@pytest.fixture(scope="module")
def pack_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackVenv]:
    root = tmp_path_factory.mktemp("packvenv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")],
                   check=True)  # fmt: skip
    venv = PackVenv(root)
    project_site = site.getsitepackages()[0]
    (venv.site / "orch_project.pth").write_text(
        f"import site; site.addsitedir({project_site!r})\n")
    yield venv


def test_the_scaffolded_pack_passes_its_own_test(pack_venv: PackVenv) -> None:
    project = scaffold("hello-pack", pack_venv.root)
    done = pack_venv.run("-m", "pip", "install", "--no-build-isolation", "--no-deps",
                         "--disable-pip-version-check", "-q", str(project))  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = pack_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def _pack_registry(venv: PackVenv) -> Registry:
    """The pack's types, imported from the throw-away environment (for check-in here)."""
    sys.path.insert(0, str(venv.site))
    try:
        module = importlib.import_module("hello_pack")
    finally:
        sys.path.remove(str(venv.site))
    reg = core_registry()
    reg.add_pack("hello_pack", module.ACTIVITIES)
    return reg


async def test_install_register_match_and_run(pack_venv: PackVenv, dsn: str,
                                              pool: asyncpg.Pool) -> None:  # fmt: skip
    project = pack_venv.root / "hello-pack"
    if not project.exists():
        scaffold("hello-pack", pack_venv.root)
    done = pack_venv.orch("ip", "install", str(project), *PIP_ARGS, "--json", dsn=dsn)
    assert done.returncode == 0, done.stderr
    (installed,) = json.loads(done.stdout)
    assert installed == {"name": "hello_pack", "version": "0.1.0", "distribution": "hello-pack",
                         "types": ["say_hello"], "registered": True}  # fmt: skip
    async with pool.acquire() as conn:
        schema = await conn.fetchval(
            "SELECT input_schema FROM pack_activity_types WHERE pack = 'hello_pack'")
    assert schema["properties"]["name"]["description"] == "Who to greet."
    assert schema["required"] == ["name"]

    reg = _pack_registry(pack_venv)
    doc = runbook_doc("Greet", [
        start(["Who"]),
        {"id": "greet", "type": "hello_pack:say_hello", "properties": {"name": "{start.Who}"}},
        {"id": "check", "type": "compare_values",
         "properties": {"value": "{greet.Greeting}", "op": "equals", "to": "Hello, orch!"}},
    ])  # fmt: skip
    async with pool.acquire() as conn:
        rb = await check_in_with(conn, doc, reg)

    async with server(pool, "plain"):  # the project's environment: no hello_pack
        async with pool.acquire() as conn:
            job = await start_job(conn, rb, {"Who": "orch"}, registry=reg)

        async def reason() -> str | None:
            async with pool.acquire() as conn:
                return await conn.fetchval(
                    "SELECT waiting_reason FROM jobs WHERE id = $1 AND status = 'queued'",
                    uuid.UUID(job.id))

        assert await eventually(reason) == (
            "no available runbook server has pack hello_pack (activity types "
            "hello_pack:say_hello)")
        proc = _start_server(pack_venv, dsn, "with-pack")
        try:
            done_job = await wait_job(pool, job.id, timeout=60)
            assert (done_job.status, done_job.server) == ("success", "with-pack"), _output(proc)
            async with pool.acquire() as conn:
                runs = await conn.fetch(
                    "SELECT activity, published FROM activity_runs WHERE instance_id = $1",
                    uuid.UUID(done_job.instance_id or ""))
            published = {r["activity"]: r["published"][0] for r in runs}
            assert published["greet"]["Greeting"] == "Hello, orch!"
            assert published["greet"]["Length"] == "12"
            assert published["check"]["Result"] == "true"
            listed = pack_venv.orch("ip", "list", "--json", dsn=dsn)
            assert listed.returncode == 0, listed.stderr
            rows = {(r["name"], r["version"]): r for r in json.loads(listed.stdout)}
            hello = rows[("hello_pack", "0.1.0")]
            assert hello["registered"] and hello["servers"] == ["with-pack"]
            assert hello["servers_up"] == ["with-pack"] and hello["types"] == ["say_hello"]
            assert rows[("core", _core_version())]["servers"] == ["with-pack"]
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 30)


def _core_version() -> str:
    from importlib.metadata import version

    return version("orch")


def _start_server(venv: PackVenv, dsn: str, name: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ORCH_DATABASE_URL=dsn, ORCH_HEARTBEAT_SECONDS="0.5",
               ORCH_POLL_SECONDS="0.5", ORCH_SERVER_TIMEOUT_SECONDS="5",
               ORCH_SHUTDOWN_GRACE_SECONDS="5")  # fmt: skip
    log = (venv.root / f"{name}.log").open("wb")
    return subprocess.Popen([venv.python, "-c", MAIN, "server", "--name", name],
                            env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def _output(proc: subprocess.Popen[bytes]) -> str:
    return f"server exit code {proc.poll()}"
