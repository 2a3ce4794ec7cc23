"""Step mode and break points: pause before an activity run and ask what to do.

At a pause the tester reads one command per line:

- ``c`` / ``continue`` — run on, pausing only at break points;
- ``s`` / ``step`` / an empty line — run this activity, pause before the next;
- ``k`` / ``skip`` — do not run it: nothing is recorded, the path below it is dead;
- ``q`` / ``quit`` — stop the runbook (it ends ``stopped``);
- ``d`` / ``data`` / ``show`` — show what every activity published so far, then ask again.

End of input counts as ``quit``: a step-by-step test nobody answers must not
run on unattended. Pauses are taken one at a time (parallel branches wait in
turn), and ``--step`` pauses in child runbooks too; break points name
activities of the runbook under test.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Literal, Protocol

from orch.document import CompiledActivity
from orch.tester.events import Paused

if TYPE_CHECKING:
    from orch.tester.session import InstanceView, TestSession

Answer = Literal["continue", "step", "skip", "quit"]
"""What a pause's answer does (:func:`obey`)."""
Command = Literal["continue", "step", "skip", "quit", "data"]

COMMANDS: dict[str, Command] = {
    "c": "continue",
    "continue": "continue",
    "s": "step",
    "step": "step",
    "": "step",
    "k": "skip",
    "skip": "skip",
    "q": "quit",
    "quit": "quit",
    "d": "data",
    "data": "data",
    "show": "data",
    "show data": "data",
}
HELP = "[c]ontinue, [s]tep (Enter), s[k]ip, [q]uit, show [d]ata"


class LineReader:
    """Lines from a stream without blocking the event loop.

    On a terminal or a pipe the loop watches the file descriptor; any other
    stream (a test's in-memory one) is read in a worker thread.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin
        self._buffer = b""
        self._eof = False

    @property
    def interactive(self) -> bool:
        """A terminal: it echoes what is typed (else the tester writes the answer)."""
        try:
            return os.isatty(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return False

    def _fd(self) -> int | None:
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        return fd if os.isatty(fd) or _is_pipe(fd) else None

    async def readline(self) -> str | None:
        """The next line without its newline; None at end of input."""
        fd = self._fd()
        if fd is None:
            line = await asyncio.to_thread(self.stream.readline)
            return line.rstrip("\r\n") if line else None
        while b"\n" not in self._buffer and not self._eof:
            await _readable(fd)
            chunk = os.read(fd, 4096)
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True
        if not self._buffer:
            return None
        line, _, rest = self._buffer.partition(b"\n")
        self._buffer = rest
        return line.decode(errors="replace").rstrip("\r")


def _is_pipe(fd: int) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, on_ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


class Stepping(Protocol):
    """A controller: whether it pauses before every run, and its break points."""

    stepping: bool
    breaks: frozenset[str]


def pause_reason(
    controller: Stepping, view: InstanceView, activity: str
) -> Literal["step", "break"] | None:
    """Why to pause before this run (break points name activities of the runbook under
    test, depth 0), or None to run it."""
    if controller.stepping:
        return "step"
    if view.depth == 0 and activity in controller.breaks:
        return "break"
    return None


def obey(
    controller: Stepping,
    command: Answer,
    session: TestSession,
    view: InstanceView,
    activity: str,
    run_id: str,
) -> bool | None:
    """Carry out a pause's answer; returns what ``before_run`` returns (None: run it).

    Shared by the command-line tester and the designer's (answered over HTTP).
    """
    if command == "continue":
        controller.stepping = False
        return None
    if command == "step":
        controller.stepping = True
        return None
    if command == "skip":
        session.skip(view, activity, run_id)
        return False
    session.quit()
    return False


class StepController:
    """Decides, before each run, whether to pause, and acts on the answer."""

    def __init__(
        self,
        *,
        step: bool,
        breaks: frozenset[str],
        reader: LineReader,
        prompt: Callable[[str], None] | None,
        say: Callable[[str], None],
    ) -> None:
        """``prompt`` shows the question without a newline (None in ``--json`` mode: the
        ``paused`` event asks); ``say`` writes one line of help."""
        self.stepping = step
        self.breaks = breaks
        self.reader = reader
        self.prompt = prompt
        self.say = say
        self._lock = asyncio.Lock()

    async def before_run(
        self, session: TestSession, view: InstanceView, act: CompiledActivity, run_id: str
    ) -> bool | None:
        async with self._lock:  # one question at a time
            if session.quitting:
                return False
            why = pause_reason(self, view, act.id)
            if why is None:
                return None
            session.observer(
                Paused(runbook=view.path, depth=view.depth, activity=act.id,
                       name=act.display_name, run_id=run_id, why=why)
            )  # fmt: skip
            while True:
                if self.prompt is not None:
                    self.prompt(f"next: {act.id} — {HELP}? ")
                line = await self.reader.readline()
                if self.prompt is not None and not self.reader.interactive:
                    self.prompt(f"{line if line is not None else ''}\n")  # as if typed
                command = "quit" if line is None else COMMANDS.get(line.strip().lower())
                if command is None:
                    self.say(f"unknown command {line!r}: {HELP}")
                    continue
                if command == "data":
                    session.observer(session.data(view))
                    continue
                return obey(self, command, session, view, act.id, run_id)
