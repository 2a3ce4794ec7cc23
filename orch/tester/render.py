"""Tester events on a terminal (text) or as JSON lines (``--json``).

The text keeps one activity run per block: a ``▶`` line when it starts, its
status and duration when it ends, its published data (items numbered when
there are several), then each link of its, evaluated per item, with the
reason it was followed or not. A child runbook's blocks are indented under
the activity that invoked it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import click
import msgspec

from orch.tester.events import (
    ActivityEnded,
    ActivityStarted,
    CaseResult,
    CasesSummary,
    ChildEnded,
    ChildStarted,
    Data,
    Event,
    Finished,
    Invalid,
    LinkEvaluated,
    LoopEvaluated,
    Paused,
    Skipped,
    Started,
)

Echo = Callable[[str], None]

COMMON_FIELDS = ("Status", "StartTime", "EndTime", "ErrorSummary", "ActivityName")
STATUS_COLOURS = {
    "success": "green",
    "warning": "yellow",
    "failed": "red",
    "stopped": "magenta",
    "interrupted": "red",
}
MAX_VALUE = 2000
"""Longer values are cut in the text (``--json`` carries them whole)."""


def _status(status: str) -> str:
    return click.style(status, fg=STATUS_COLOURS.get(status), bold=status == "failed")


def _duration(ms: float) -> str:
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


def _value(value: str, continuation: str) -> str:
    if not value:
        return "''"
    if len(value) > MAX_VALUE:
        value = f"{value[:MAX_VALUE]}… ({len(value)} characters)"
    return value.replace("\n", "\n" + continuation)


def _inline(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False) if any(c in value for c in "\n\r\t,=") else value
    if not text:
        return "''"
    return _value(text, "")


def _numbers(items: list[int]) -> str:
    """Item indexes numbered from 1: ``#2``, ``#1, #3``, ``#1–#5`` (a run of 3 or more)."""
    if len(items) >= 3 and items == list(range(items[0], items[0] + len(items))):
        return f"#{items[0] + 1}–#{items[-1] + 1}"
    return ", ".join(f"#{k + 1}" for k in items)


def _own(item: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in item.items() if k not in COMMON_FIELDS]


class TextRenderer:
    """Writes events as text for a person at a terminal."""

    def __init__(self, echo: Echo | None = None, *, trace: bool = True) -> None:
        """``trace=False`` shows only results (many test cases in a row)."""
        self.echo = echo or click.echo
        self.trace = trace
        self._multi: set[str] = set()
        """Runs that published several items (their links are numbered per item)."""
        self._where: dict[str, str] = {}
        """Per running run, which item and attempt it is (repeated when it ends)."""
        self._pending: tuple[LinkEvaluated, list[int]] | None = None
        """A link evaluation held back: the same outcome for the next items is one line."""

    def flush(self) -> None:
        """Write what is held back (a link evaluation)."""
        if self._pending is not None:
            event, items = self._pending
            self._pending = None
            self._link(event, items)

    @staticmethod
    def _same(a: LinkEvaluated, b: LinkEvaluated) -> bool:
        return (a.run_id, a.source, a.target, a.reason) == (b.run_id, b.source, b.target, b.reason)

    def __call__(self, event: Event) -> None:
        if self._pending is not None:
            if isinstance(event, LinkEvaluated) and self._same(self._pending[0], event):
                self._pending[1].append(event.item)
                return
            self.flush()
        match event:
            case Started() if self.trace:
                label = f"case {event.case!r} of " if event.case else ""
                self.echo(click.style(f"Testing {label}{event.runbook} ({event.source})",
                                      bold=True))  # fmt: skip
                if event.parameters:
                    self.echo(f"parameters: {self._pairs(event.parameters)}")
            case ActivityStarted() if self.trace:
                self._started(event)
            case ActivityEnded() if self.trace:
                self._ended(event)
            case LinkEvaluated() if self.trace:
                self._pending = (event, [event.item])
            case LoopEvaluated() if self.trace:
                self.echo(f"{'  ' * event.depth}    ↻ loop: {event.reason}")
            case Paused():
                where = "break point" if event.why == "break" else "step"
                self.echo(click.style(
                    f"{'  ' * event.depth}⏸ paused before {event.activity} ({where})", fg="cyan"
                ))  # fmt: skip
            case Skipped():
                self.echo(f"{'  ' * event.depth}⤼ skipped {event.activity}: "
                          "nothing recorded, the path below it is dead")  # fmt: skip
            case Data():
                self._data(event)
            case ChildStarted() if self.trace:
                pad = "  " * (event.depth - 1)
                self.echo(f"{pad}  ┌ child runbook {event.runbook} from {event.source}")
                if event.parameters:
                    self.echo(f"{pad}  │ parameters: {self._pairs(event.parameters)}")
            case ChildEnded() if self.trace:
                pad = "  " * (event.depth - 1)
                text = f"{pad}  └ child runbook {event.runbook} ended {_status(event.status)}"
                if event.error:
                    text += f": {event.error}"
                self.echo(text)
                if event.returned_data:
                    self.echo(f"{pad}    returned: {self._pairs(event.returned_data)}")
            case Finished() if self.trace:
                self._finished(event)
            case CaseResult():
                mark = click.style("PASS", fg="green") if event.passed else click.style(
                    "FAIL", fg="red", bold=True)  # fmt: skip
                self.echo(f"{mark} {event.name} ({_status(event.status)})")
                for failure in event.failures:
                    self.echo(f"     {failure}")
            case CasesSummary():
                self.echo(f"{event.total} case{'s' if event.total != 1 else ''}: "
                          f"{event.passed} passed, {event.failed} failed")  # fmt: skip
            case Invalid():
                for f in event.faults:
                    self.echo(f"{event.source}: {f.path}: {f.message} [{f.code}]")
            case _:
                pass

    # -- pieces ---------------------------------------------------------------------------------

    def _started(self, e: ActivityStarted) -> None:
        pad = "  " * e.depth
        name = f" “{e.name}”" if e.name != e.activity else ""
        where = ""
        if e.parent_items > 1 and e.parent_activity:
            where = f" for item #{e.item + 1} of {e.parent_activity}"
        attempt = f" (attempt {e.attempt})" if e.attempt > 1 else ""
        self._where[e.run_id] = f"{where}{attempt}"
        self.echo(f"{pad}▶ {e.activity}{name}{where}{attempt}")

    def _ended(self, e: ActivityEnded) -> None:
        pad = "  " * e.depth
        if len(e.published) > 1:
            self._multi.add(e.run_id)
        count = f", {len(e.published)} items" if len(e.published) > 1 else ""
        where = self._where.pop(e.run_id, "")
        self.echo(
            f"{pad}  {e.activity}{where}: {_status(e.status)} in {_duration(e.duration_ms)}{count}"
        )
        if e.error:
            self.echo(f"{pad}    error: {_value(e.error, pad + '           ')}")
        if e.returned_data:
            self.echo(f"{pad}    returned: {self._pairs(e.returned_data)}")
        if not e.published:
            if e.status in ("success", "warning"):
                self.echo(f"{pad}    no items: the path below it is dead")
            return
        if len(e.published) == 1:
            for key, value in _own(e.published[0]):
                cont = pad + "    " + " " * (len(key) + 2)
                self.echo(f"{pad}    {key}: {_value(value, cont)}")
            return
        for k, item in enumerate(e.published):
            fields = ", ".join(f"{key}={_inline(v)}" for key, v in _own(item))
            self.echo(f"{pad}    #{k + 1} {fields}")

    def _link(self, e: LinkEvaluated, items: list[int]) -> None:
        number = f"{_numbers(items)} " if e.run_id in self._multi else ""
        reason = click.style(e.reason, fg="green" if e.followed else None, dim=not e.followed)
        self.echo(f"{'  ' * e.depth}    ↳ {number}{reason}")

    def _data(self, e: Data) -> None:
        pad = "  " * e.depth
        self.echo(f"{pad}  data of {e.runbook} so far:")
        if e.parameters:
            self.echo(f"{pad}    parameters: {self._pairs(e.parameters)}")
        if not e.activities:
            self.echo(f"{pad}    (no activity has finished yet)")
        for activity, items in e.activities.items():
            if not items:
                self.echo(f"{pad}    {activity}: no items")
            elif len(items) == 1:
                self.echo(f"{pad}    {activity}: {self._pairs(dict(_own(items[0])))}")
            else:
                self.echo(f"{pad}    {activity}:")
                for k, item in enumerate(items):
                    self.echo(f"{pad}      #{k + 1} {self._pairs(dict(_own(item)))}")

    def _finished(self, e: Finished) -> None:
        self.echo("")
        runs = f"{e.runs} run{'s' if e.runs != 1 else ''}"
        if e.skipped:
            runs += f", skipped: {', '.join(e.skipped)}"
        text = f"Result: {_status(e.status)} in {_duration(e.duration_ms)} ({runs})"
        if e.error:
            text += f" — {e.error}"
        self.echo(click.style(text, bold=True) if e.status == "success" else text)
        if e.returned_data:
            self.echo("returned data:")
            for key, value in e.returned_data.items():
                self.echo(f"    {key}: {_value(value, '    ' + ' ' * (len(key) + 2))}")

    @staticmethod
    def _pairs(values: Mapping[str, str]) -> str:
        return ", ".join(f"{k}={_inline(v)}" for k, v in values.items()) or "(none)"


class JsonRenderer:
    """Writes each event as one JSON line (``{"event": kind, ...}``)."""

    def __init__(self, echo: Echo | None = None) -> None:
        self.echo = echo or click.echo
        self._encoder = msgspec.json.Encoder()

    def __call__(self, event: Event) -> None:
        self.echo(self._encoder.encode(event).decode())
