"""run_program in isolation: output capture, exit codes, split output, no shell, kills."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from activities.program import run_program
from orch.sdk import Context, InstanceInfo, convert_inputs
from orch.sdk.testing import run_activity

PY = sys.executable


async def test_output_error_output_and_exit_code() -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr)"
    r = await run_activity(run_program, {"program": PY, "args": ["-c", code]})
    assert r.status == "success", r.error
    assert r.items == [{"Output": "out", "ErrorOutput": "err", "ExitCode": "0"}]


async def test_no_shell_arguments_are_passed_verbatim() -> None:
    r = await run_activity(run_program, {"program": "echo", "args": ["$HOME", "a;b", "*"]})
    assert r.items[0]["Output"] == "$HOME a;b *"


async def test_bad_exit_code_fails_but_publishes() -> None:
    code = "import sys; print('half'); print('boom', file=sys.stderr); sys.exit(3)"
    r = await run_activity(run_program, {"program": PY, "args": ["-c", code]})
    assert r.status == "failed"
    assert r.error == "exit code 3: boom"
    assert r.items == [{"Output": "half", "ErrorOutput": "boom", "ExitCode": "3"}]
    r = await run_activity(
        run_program, {"program": PY, "args": ["-c", code], "success_exit_codes": ["0", "3"]}
    )
    assert r.status == "success"


async def test_split_output_one_item_per_non_empty_line() -> None:
    code = "print('a'); print(); print('c')"
    r = await run_activity(run_program, {"program": PY, "args": ["-c", code], "split_output": True})
    assert r.items == [{"Line": "a", "LineNumber": "1"}, {"Line": "c", "LineNumber": "3"}]
    r = await run_activity(run_program, {"program": "true", "split_output": "true"})
    assert (r.status, r.items) == ("success", [])


async def test_env_and_cwd(tmp_path: Path) -> None:
    code = "import os; print(os.getcwd()); print(os.environ['ORCH_T'])"
    r = await run_activity(
        run_program,
        {"program": PY, "args": ["-c", code], "env": {"ORCH_T": "v1"}, "cwd": str(tmp_path)},
    )
    assert r.items[0]["Output"].splitlines() == [str(tmp_path.resolve()), "v1"]


async def test_output_is_capped_with_a_marker() -> None:
    code = "import sys; sys.stdout.write('x' * 100000)"
    r = await run_activity(
        run_program, {"program": PY, "args": ["-c", code], "max_output_bytes": 10}
    )
    assert r.status == "success"
    assert r.items[0]["Output"] == "xxxxxxxxxx\n[output truncated: 99990 more bytes]"


async def test_missing_program() -> None:
    r = await run_activity(run_program, {"program": "/nonexistent/orch-nope"})
    assert (r.status, r.error) == ("failed", "program not found: /nonexistent/orch-nope")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers signal 0; read its state
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


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # the program starts a grandchild, records both pids, and sleeps
    code = (
        "import subprocess, sys, os, time;"
        f"c = subprocess.Popen([{PY!r}, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{c.pid}}\\n');"
        "time.sleep(60)"
    )
    task = asyncio.create_task(
        run_activity(run_program, {"program": PY, "args": ["-c", code]}, timeout_seconds=1.5)
    )
    leader, grandchild = map(int, (await _wait_for_file(pids)).split())
    r = await task
    assert (r.status, r.error) == ("failed", "timeout")
    deadline = time.monotonic() + 5
    while (_alive(leader) or _alive(grandchild)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert not _alive(leader)
    assert not _alive(grandchild)


async def test_cancellation_kills_the_program(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    code = f"import os, time; open({str(pids)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    ctx = Context(InstanceInfo(), "p", "p", "run-1")
    inputs = convert_inputs(run_program, {"program": PY, "args": ["-c", code]})
    task = asyncio.create_task(run_program.fn(ctx, inputs))
    pid = int(await _wait_for_file(pids))
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("not cancelled")
    assert not _alive(pid)
