"""Child processes for activities: start without a shell, capture, kill the whole group.

Shared by ``run_program`` and ``run_script``. A process runs in its
own session, so killing its process group also kills whatever it started.
Output is captured up to a limit per stream (the rest is read and dropped so
the child never blocks on a full pipe), and each complete line can be handed
to a callback as it arrives — that is how output reaches the instance log
while the process still runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from orch.sdk import ActivityError, Context

DEFAULT_MAX_OUTPUT = 1024 * 1024
_CHUNK = 64 * 1024
_MAX_LOGGED_LINE = 4096

LineSink = Callable[[str], None]


class ByteStream(Protocol):
    """What :func:`capture` reads: an asyncio StreamReader, an asyncssh reader…"""

    async def read(self, n: int = -1) -> bytes: ...


async def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> asyncio.subprocess.Process:
    """Start ``argv`` in a new session with piped stdout/stderr and no stdin.

    ``env`` is added to (or overrides) the runbook server's environment.
    Start failures become :class:`ActivityError` with a readable message.
    """
    full_env = {**os.environ, **env} if env else None
    try:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        if cwd is not None and not await asyncio.to_thread(os.path.isdir, cwd):
            raise ActivityError(f"property cwd: no such folder: {cwd}") from None
        raise ActivityError(f"program not found: {argv[0]}") from None
    except NotADirectoryError:
        raise ActivityError(f"property cwd: not a folder: {cwd}") from None
    except PermissionError:
        raise ActivityError(f"not allowed to run {argv[0]}") from None


async def capture(stream: ByteStream, limit: int, on_line: LineSink | None = None) -> str:
    """Read ``stream`` to its end; keep at most ``limit`` bytes, mark the rest.

    ``on_line`` receives each line (without its newline, cut to 4 KiB) as soon
    as it is complete, and the unterminated tail at the end.
    """
    kept = bytearray()
    dropped = 0
    pending = bytearray()
    while chunk := await stream.read(_CHUNK):
        room = limit - len(kept)
        if room >= len(chunk):
            kept += chunk
        else:
            if room > 0:
                kept += chunk[:room]
            dropped += len(chunk) - max(room, 0)
        if on_line is not None:
            pending += chunk
            *lines, rest = pending.split(b"\n")
            for line in lines:
                on_line(_line_text(line))
            pending = bytearray(rest[:_MAX_LOGGED_LINE])
    if on_line is not None and pending:
        on_line(_line_text(pending))
    text = kept.decode("utf-8", "replace")
    if dropped:
        text += f"\n[output truncated: {dropped} more bytes]"
    return text


def log_sinks(ctx: Context) -> tuple[LineSink | None, LineSink | None]:
    """Line callbacks sending stdout and stderr to the instance log, when there is one."""
    if not ctx.streams_log:
        return None, None

    def out(line: str) -> None:
        ctx.write_log(line, "stdout")

    def err(line: str) -> None:
        ctx.write_log(line, "stderr")

    return out, err


def _line_text(raw: bytes | bytearray) -> str:
    return bytes(raw[:_MAX_LOGGED_LINE]).decode("utf-8", "replace").rstrip("\r")


async def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group of ``proc`` and reap ``proc``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.returncode is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
    await proc.wait()


def chomp(text: str) -> str:
    """``text`` without one trailing newline (``\\n`` or ``\\r\\n``)."""
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    return text


def first_line(text: str, width: int = 200) -> str:
    """The first non-blank line of ``text``, cut to ``width`` (for error summaries)."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    return line[:width]
