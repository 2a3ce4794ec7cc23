"""The README's quick start, run as a newcomer would, against real processes.

`orch up` in a fresh folder (embedded PostgreSQL in ./.orch, a free port),
check-in of every example, jobs started through the CLI and over HTTP, the
results read both ways; then SIGTERM must leave no process behind (no
PostgreSQL either), and a restart must find every runbook and job.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
ORCH = shutil.which("orch", path=str(Path(sys.executable).parent)) or "orch"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FAILING = {
    "format": "orch.runbook/1",
    "name": "Fails",
    "folder": "/Acceptance",
    "activities": [
        {"id": "start", "type": "initialize_data", "properties": {"parameters": []}},
        {"id": "boom", "type": "run_program", "properties": {"program": "false", "args": []}},
    ],
    "links": [{"from": "start", "to": "boom"}],
}


def clean_env() -> dict[str, str]:
    """The environment of a newcomer: no ORCH_* settings, default data folder ./.orch."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    env["ORCH_LOG_FORMAT"] = "json"
    return env


@dataclass
class Up:
    """A running `orch up` and what it printed."""

    proc: subprocess.Popen[str]
    log: Path
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def start_reader(self) -> None:
        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        threading.Thread(target=pump, name="orch-up-stdout", daemon=True).start()

    def wait_for(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        """The first stdout line starting with ``prefix`` (after stripping), or fail."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"`orch up` printed no {prefix!r} line: {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.proc.wait()
                pytest.fail(f"`orch up` exited ({code}) before {prefix!r}: {self.lines}\n"
                            f"{self.log.read_text()[-3000:]}")
            self.lines.append(line)
            if line.strip().startswith(prefix):
                return line.strip()

    def value(self, prefix: str) -> str:
        return self.wait_for(prefix).split(None, 1)[1].strip()


def start_up(folder: Path) -> Up:
    log = folder / f"orch-up-{time.monotonic_ns()}.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [ORCH, "up", "--port", "0"],
            cwd=folder, env=clean_env(), stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    up = Up(proc, log)
    up.start_reader()
    return up


def stop_up(up: Up, data_dir: Path) -> None:
    """SIGTERM, then: exit status 0 and no process of ours left (postgres included)."""
    children = psutil.Process(up.proc.pid).children(recursive=True)
    postmaster = _postmaster(data_dir)
    assert postmaster is not None, "the embedded PostgreSQL should be running"
    up.proc.send_signal(signal.SIGTERM)
    code = up.proc.wait(timeout=STOP_TIMEOUT)
    assert code == 0, up.log.read_text()[-3000:]
    up.wait_for("orch stopped", timeout=5)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and _alive([postmaster, *children]):
        time.sleep(0.1)
    assert not _alive([postmaster, *children])
    assert not _processes_using(data_dir)


def _postmaster(data_dir: Path) -> psutil.Process | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    try:
        return psutil.Process(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, IndexError, psutil.Error):
        return None


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


def _processes_using(data_dir: Path) -> list[str]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or ())
        if str(data_dir) in cmd:
            found.append(cmd)
    return found


def cli(folder: Path, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [ORCH, *args], cwd=folder, env=clean_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode in ok, (args, result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def http(url: str, token: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_finished(url: str, token: str, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = http(f"{url}/api/v1/jobs/{job_id}", token)
        assert status == 200
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


SAMPLE_VALUES = {"string": "World", "integer": 2, "boolean": True,
                 "datetime": "2026-01-01T00:00:00Z"}


def required_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """A value for each parameter of the start activity that has no default."""
    out: dict[str, Any] = {}
    for activity in document["activities"]:
        if activity["type"] == "initialize_data":
            for p in activity.get("properties", {}).get("parameters", []):
                if p.get("default") is None:
                    out[p["name"]] = SAMPLE_VALUES[p.get("type", "string")]
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    # Whatever happened, leave no process behind.
    for p in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(p.info["cmdline"] or ()):
            p.kill()


def test_quick_start_from_the_readme(folder: Path) -> None:
    data_dir = folder / ".orch"

    # --- first start: URL and the admin's credentials, printed once --------------
    up = start_up(folder)
    url = up.value("console:").rstrip("/")
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    password = up.value("password:")
    token = up.value("token:")
    up.wait_for("Stop with Ctrl-C.")
    creds_file = data_dir / "credentials.json"
    assert creds_file.stat().st_mode & 0o777 == 0o600
    saved = json.loads(creds_file.read_text())
    assert saved["token"] == token and saved["password"] == password and saved["url"] == url

    # --- the CLI finds the gateway and the token through ./.orch ---------------------
    checked = cli(folder, "runbook", "check-in", *map(str, EXAMPLES), "--json")
    outcomes = json.loads(checked.stdout)
    assert [o["action"] for o in outcomes] == ["created"] * len(EXAMPLES)
    paths = {o["path"] for o in outcomes}
    assert "/Examples/Hello" in paths
    again = cli(folder, "runbook", "check-in", str(ROOT / "examples" / "hello.json"))
    assert again.stdout.startswith("unchanged /Examples/Hello version 1")

    hello = cli(folder, "job", "start", "/Examples/Hello", "--param", "Name=World", "--wait")
    out = hello.stdout
    assert "greet" in out and "Output=Hello, World!" in out
    assert "returned: Greeting=Hello, World!" in out
    hello_id = out.split()[1]

    as_json = cli(folder, "job", "start", "/Examples/Hello", "-p", "Name=JSON", "--wait",
                  "--json")
    job = json.loads(as_json.stdout)
    assert job["status"] == "success" and job["returned_data"] == {"Greeting": "Hello, JSON!"}

    # --- every example runs to success over HTTP --------------------------------------
    documents = {o["path"]: json.loads(f.read_text()) for o, f in zip(outcomes, EXAMPLES,
                                                                          strict=True)}
    for outcome in outcomes:
        params = required_parameters(documents[outcome["path"]])
        status, started = http(f"{url}/api/v1/jobs", token, "POST",
                               {"runbook": outcome["path"], "parameters": params})
        assert status == 201 and started["status"] in ("queued", "running", "success")
        finished = wait_finished(url, token, started["id"])
        assert finished["status"] == "success", (outcome["path"], finished)

    # --- the result over HTTP ----------------------------------------------------------
    status, job = http(f"{url}/api/v1/jobs/{hello_id}", token)
    assert status == 200 and job["status"] == "success"
    assert job["returned_data"] == {"Greeting": "Hello, World!"}
    status, instance = http(f"{url}/api/v1/instances/{job['instance_id']}", token)
    assert status == 200 and instance["status"] == "success"
    runs = instance["activity_runs"]
    assert [r["activity"] for r in runs] == ["start", "greet", "done"]
    assert all(r["status"] == "success" for r in runs)
    assert runs[0]["published"][0]["Name"] == "World"
    assert runs[1]["published"][0]["Output"] == "Hello, World!"

    # --- the result through the CLI ------------------------------------------------------
    shown = json.loads(cli(folder, "job", "show", hello_id, "--json").stdout)
    assert shown["job"]["returned_data"] == {"Greeting": "Hello, World!"}
    assert [r["activity"] for r in shown["instance"]["activity_runs"]] == ["start", "greet", "done"]

    # --- exit codes and one-line errors --------------------------------------------------
    failing = folder / "fails.json"
    failing.write_text(json.dumps(FAILING))
    cli(folder, "runbook", "check-in", str(failing))
    failed = cli(folder, "job", "start", "/Acceptance/Fails", "--wait", ok=(1,))
    assert "failed" in failed.stdout
    for args in (
        ("job", "start", "/Examples/Nope"),
        ("runbook", "check-in", "missing.json"),
        ("job", "start", "/Examples/Hello", "--param", "Nom=x"),
    ):
        result = cli(folder, *args, ok=(1,))
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    bad_token = subprocess.run(
        [ORCH, "runbook", "list"], cwd=folder, env={**clean_env(), "ORCH_TOKEN": "orch_bad"},
        capture_output=True, text=True, timeout=60,
    )
    assert bad_token.returncode == 1 and "401" in bad_token.stderr

    # --- stop: nothing left --------------------------------------------------------------
    stop_up(up, data_dir)
    unreachable = cli(folder, "runbook", "list", ok=(1,))
    assert "cannot reach the gateway" in unreachable.stderr

    # --- restart: same data, credentials not shown again -------------------------------------
    up = start_up(folder)
    url = up.value("console:").rstrip("/")
    assert up.value("credentials:") == str(creds_file.resolve())
    up.wait_for("Stop with Ctrl-C.")
    assert not any(line.strip().startswith("password:") for line in up.lines)
    assert json.loads(creds_file.read_text())["url"] == url
    listed = json.loads(cli(folder, "runbook", "list", "--json").stdout)
    assert {r["path"] for r in listed} == paths | {"/Acceptance/Fails"}
    status, job = http(f"{url}/api/v1/jobs/{hello_id}", token)
    assert status == 200 and job["returned_data"] == {"Greeting": "Hello, World!"}
    again = cli(folder, "job", "start", "/Examples/Hello", "-p", "Name=again", "--wait")
    assert "returned: Greeting=Hello, again!" in again.stdout
    stop_up(up, data_dir)
