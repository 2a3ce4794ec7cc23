"""run_script in isolation: interpreters, arguments, env/cwd, exit codes, timeouts, kills."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from activities.scripts import run_script
from orch.sdk import Context, InstanceInfo, convert_inputs
from orch.sdk.testing import run_activity


async def test_bash_script_with_arguments() -> None:
    script = 'echo "first=$1"\necho "count=$#"\necho oops >&2\n'
    r = await run_activity(
        run_script, {"script": script, "interpreter": "bash", "args": ["a b", "$HOME;*"]}
    )
    assert r.status == "success", r.error
    assert r.items == [{"Output": "first=a b\ncount=2", "ErrorOutput": "oops", "ExitCode": "0"}]


async def test_python3_script_gets_argv_verbatim() -> None:
    script = "import sys, json\nprint(json.dumps(sys.argv[1:]))\n"
    r = await run_activity(
        run_script, {"script": script, "interpreter": "python3", "args": ["$x", "'q'", ""]}
    )
    assert r.status == "success", r.error
    assert r.items[0]["Output"] == '["$x", "\'q\'", ""]'


async def test_sh_is_the_default_family_and_env_cwd_apply(tmp_path: Path) -> None:
    r = await run_activity(
        run_script,
        {
            "script": 'pwd\necho "$ORCH_T"',
            "interpreter": "sh",
            "env": {"ORCH_T": "v1"},
            "cwd": str(tmp_path),
        },
    )
    assert r.items[0]["Output"].splitlines() == [str(tmp_path.resolve()), "v1"]


async def test_script_file_is_removed_afterwards(tmp_path: Path) -> None:
    marker = tmp_path / "where"
    r = await run_activity(run_script, {"script": f'echo "$0" > {marker}', "interpreter": "bash"})
    assert r.status == "success"
    script_path = Path(marker.read_text().strip())
    assert script_path.name == "script.sh"
    assert not script_path.exists()
    assert not script_path.parent.exists()


async def test_bad_exit_code_fails_but_publishes() -> None:
    r = await run_activity(run_script, {"script": "echo half\necho boom >&2\nexit 3"})
    assert (r.status, r.error) == ("failed", "exit code 3: boom")
    assert r.items == [{"Output": "half", "ErrorOutput": "boom", "ExitCode": "3"}]
    r = await run_activity(run_script, {"script": "exit 3", "success_exit_codes": ["0", "3"]})
    assert r.status == "success"


async def test_output_lines_reach_the_log_as_they_come() -> None:
    with capture_logs() as logs:
        r = await run_activity(run_script, {"script": "echo one\necho two >&2\nprintf tail"})
    assert r.status == "success"
    lines = [(e["stream"], e["line"]) for e in logs if e.get("event") == "script output"]
    assert ("stdout", "one") in lines
    assert ("stderr", "two") in lines
    assert ("stdout", "tail") in lines


async def test_own_timeout_kills_and_publishes_partial_output() -> None:
    r = await run_activity(
        run_script,
        {"script": "echo started\nsleep 60\necho never", "timeout_seconds": 0.5},
    )
    assert (r.status, r.error) == ("failed", "script timed out after 0.5 s")
    assert r.items[0]["Output"] == "started"
    assert r.items[0]["ExitCode"] == "-9"


async def test_bad_inputs_fail_naming_the_property() -> None:
    r = await run_activity(run_script, {"script": "true", "interpreter": "perl"})
    assert r.status == "failed"
    assert r.error is not None and r.error.startswith("property interpreter:")
    r = await run_activity(run_script, {"interpreter": "bash"})
    assert (r.status, r.error) == ("failed", "property script is required")
    r = await run_activity(run_script, {"script": "true", "cwd": "/nonexistent/orch-nope"})
    assert (r.status, r.error) == ("failed", "property cwd: no such folder: /nonexistent/orch-nope")
    r = await run_activity(run_script, {"script": "true", "timeout_seconds": 0})
    assert (r.status, r.error) == ("failed", "property timeout_seconds: must be greater than 0")


@pytest.mark.skipif(shutil.which("pwsh") is not None, reason="pwsh is installed here")
async def test_pwsh_missing_is_a_clear_failure() -> None:
    r = await run_activity(run_script, {"script": "Write-Output 1", "interpreter": "pwsh"})
    assert (r.status, r.error) == (
        "failed",
        "property interpreter: pwsh is not installed on this runbook server",
    )


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh is not installed")
async def test_pwsh_script() -> None:
    r = await run_activity(
        run_script,
        {"script": 'Write-Output "hi $($args[0])"', "interpreter": "pwsh", "args": ["you"]},
    )
    assert r.status == "success", r.error
    assert r.items[0]["Output"] == "hi you"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _wait_for_file(path: Path) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never written")


async def test_cancellation_kills_the_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 60 &\necho $$ $! > {pids}\nwait\n"
    ctx = Context(InstanceInfo(), "s", "s", "run-1")
    inputs = convert_inputs(run_script, {"script": script})
    task = asyncio.create_task(run_script.fn(ctx, inputs))
    leader, child = map(int, (await _wait_for_file(pids)).split())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while (_alive(leader) or _alive(child)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not _alive(leader)
    assert not _alive(child)
