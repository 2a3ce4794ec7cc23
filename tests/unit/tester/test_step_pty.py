"""Step mode driven as a person would: ``orch test --step`` on a pseudo-terminal
(and, for ``--json``, through pipes as a script would), answering each prompt."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time

from tests.unit.tester.helpers import EXAMPLES

ANSI = re.compile(rb"\x1b\[[0-9;]*m")
ORCH = [sys.executable, "-c", "from orch.cli.main import main; main()"]
HELLO = str(EXAMPLES / "hello.json")
DEADLINE = 30.0


class Terminal:
    """A child process on a pseudo-terminal; reads wait for text with a deadline."""

    def __init__(self, *args: str) -> None:
        self.master, slave = os.openpty()
        env = {**os.environ, "ORCH_LOG_LEVEL": "WARNING"}
        self.proc = subprocess.Popen(
            [*ORCH, *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.seen = b""
        self._pos = 0

    def expect(self, text: str) -> str:
        """Everything up to and including ``text`` (which must appear before the deadline)."""
        want = text.encode()
        deadline = time.monotonic() + DEADLINE
        while want not in ANSI.sub(b"", self.seen[self._pos :]):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"{text!r} not shown; got {self.seen[self._pos:]!r}")
            chunk = self._read()
            if not chunk:
                raise AssertionError(f"{text!r} not shown before the end: {self.seen!r}")
            self.seen += chunk
        # consume up to the end of the match only: what follows it (read in the
        # same chunk) is still there for the next expect() or finish()
        end = self._pos + len(want)
        while want not in ANSI.sub(b"", self.seen[self._pos : end]):
            end += 1
        clean = ANSI.sub(b"", self.seen[self._pos : end])
        self._pos = end
        return clean.decode("utf-8", "replace")

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def _read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return b""

    def finish(self) -> tuple[int, str]:
        """Exit status and the rest of the output."""
        deadline = time.monotonic() + DEADLINE
        rest = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                chunk = self._read()
                if not chunk:
                    break
                rest += chunk
            elif self.proc.poll() is not None:
                break
        code = self.proc.wait(timeout=DEADLINE)
        os.close(self.master)
        self.seen += rest
        return code, ANSI.sub(b"", self.seen[self._pos :]).decode()


def test_step_continue_and_show_data_on_a_terminal() -> None:
    term = Terminal("test", HELLO, "-p", "Name=Pty", "--step")
    first = term.expect("next: start — ")
    assert "⏸ paused before start (step)" in first
    term.send("s")
    shown = term.expect("next: greet — ")
    assert "Name: Pty" in shown
    assert "⏸ paused before greet (step)" in shown
    term.send("d")
    data = term.expect("next: greet — ")
    assert "data of /Examples/Hello so far:" in data
    assert "start: Name=Pty" in data
    term.send("c")
    code, rest = term.finish()
    assert code == 0, rest
    assert "Output: Hello, Pty!" in rest
    assert "paused" not in rest  # continue: no more pauses
    assert "Result: success" in rest


def test_skip_and_quit_on_a_terminal() -> None:
    term = Terminal("test", HELLO, "-p", "Name=Pty", "--step")
    term.expect("next: start — ")
    term.send("")  # Enter steps
    term.expect("next: greet — ")
    term.send("k")
    skipped = term.expect("⤼ skipped greet")
    assert "▶ greet" not in skipped
    code, rest = term.finish()  # the path below greet is dead: nothing more to ask
    assert code == 0
    assert "skipped: greet" in rest

    term = Terminal("test", HELLO, "-p", "Name=Pty", "--break", "greet")
    assert "▶ start" in term.expect("next: greet — ")
    term.send("q")
    code, rest = term.finish()
    assert code == 1
    assert "Result: stopped" in rest
    assert "▶ greet" not in rest


def test_json_step_through_pipes() -> None:
    proc = subprocess.Popen(
        [*ORCH, "test", HELLO, "-p", "Name=Pipe", "--step", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ORCH_LOG_LEVEL": "WARNING"},
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[dict] = []
    answers = iter(["s", "s", "s"])
    try:
        for raw in proc.stdout:
            event = json.loads(raw)
            seen.append(event)
            if event["event"] == "paused":
                proc.stdin.write((next(answers) + "\n").encode())
                proc.stdin.flush()
    finally:
        proc.stdin.close()
        code = proc.wait(timeout=DEADLINE)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert [e["activity"] for e in seen if e["event"] == "paused"] == ["start", "greet", "done"]
    assert seen[-1]["event"] == "finished" and seen[-1]["status"] == "success"
