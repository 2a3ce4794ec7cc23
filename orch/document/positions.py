"""Where things are in JSON text: line and column of every value, and of syntax errors.

Validation names faults by JSON path (``$.activities[2].type``); an author in
an editor wants the line. :func:`positions` scans the text once, like a JSON
parser that remembers where each value starts, and keys each position by the
same path spelling the checker uses (``child_path``). A member is found at its
key, which is what an editor should point at. :func:`locate` answers a fault's
path, falling back to the nearest enclosing value when the path names
something absent (a missing key is reported at the object that lacks it).

Lines and columns are 1-based; columns count characters. Malformed text
raises :class:`JsonSyntaxError` at the offending character.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import NamedTuple

from orch.document.properties import child_path

__all__ = ["JsonSyntaxError", "Position", "locate", "parent_path", "position_at", "positions"]

MAX_DEPTH = 200
"""Deeper nesting is refused (as a syntax error) instead of exhausting the stack."""

_WS = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING_BODY = re.compile(r'[^"\\\x00-\x1f]*')
_LAST_SEGMENT = re.compile(r'(?:\.[^.\[]+|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])$')


class Position(NamedTuple):
    line: int
    column: int


class JsonSyntaxError(ValueError):
    """The text is not JSON; ``line``/``column`` point at the offending character."""

    def __init__(self, message: str, offset: int, position: Position) -> None:
        super().__init__(f"{message} (line {position.line}, column {position.column})")
        self.reason = message
        self.offset = offset
        self.line = position.line
        self.column = position.column


def _line_starts(text: str) -> list[int]:
    starts = [0]
    start = text.find("\n")
    while start != -1:
        starts.append(start + 1)
        start = text.find("\n", start + 1)
    return starts


def position_at(text: str, offset: int, line_starts: list[int] | None = None) -> Position:
    """The line and column of character ``offset`` in ``text``."""
    starts = line_starts if line_starts is not None else _line_starts(text)
    index = bisect.bisect_right(starts, offset) - 1
    return Position(index + 1, offset - starts[index] + 1)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.starts = _line_starts(text)
        self.found: dict[str, Position] = {}

    def fail(self, message: str, at: int | None = None) -> JsonSyntaxError:
        offset = self.i if at is None else at
        return JsonSyntaxError(message, offset, position_at(self.text, offset, self.starts))

    def skip_ws(self) -> None:
        text, i = self.text, self.i
        while i < len(text) and text[i] in _WS:
            i += 1
        self.i = i

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def scan(self) -> dict[str, Position]:
        self.skip_ws()
        self.value("$", 0)
        self.skip_ws()
        if self.i < len(self.text):
            raise self.fail("unexpected text after the end of the document")
        return self.found

    def value(self, path: str, depth: int, at: Position | None = None) -> None:
        """Scan one value starting at ``self.i`` (whitespace already skipped)."""
        if depth > MAX_DEPTH:
            raise self.fail("the document is nested too deeply")
        self.found[path] = at or position_at(self.text, self.i, self.starts)
        c = self.peek()
        if c == "{":
            self.obj(path, depth)
        elif c == "[":
            self.array(path, depth)
        elif c == '"':
            self.string()
        elif c == "-" or c.isdigit():
            m = _NUMBER.match(self.text, self.i)
            if m is None:
                raise self.fail("a number is malformed")
            self.i = m.end()
            if self.peek() in (".", "e", "E") or self.peek().isdigit():
                raise self.fail("a number is malformed")
        elif c == "":
            raise self.fail("the document ends where a value was expected")
        else:
            for word in ("true", "false", "null"):
                if self.text.startswith(word, self.i):
                    self.i += len(word)
                    return
            raise self.fail(f"expected a value, found {_shown(c)}")

    def string(self) -> str:
        """Scan a string at ``self.i`` (on its opening quote); its decoded text."""
        start = self.i
        i = start + 1
        text = self.text
        while True:
            i = _STRING_BODY.match(text, i).end()  # type: ignore[union-attr]
            if i >= len(text):
                raise self.fail("a string is not closed", start)
            c = text[i]
            if c == '"':
                break
            if c == "\\":
                nxt = text[i + 1] if i + 1 < len(text) else ""
                if nxt == "u":
                    if not re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2:i + 6]):
                        raise self.fail("a \\u escape needs four hex digits", i)
                    i += 6
                elif nxt and nxt in '"\\/bfnrt':
                    i += 2
                else:
                    raise self.fail(f"invalid escape \\{nxt} in a string", i)
                continue
            what = "a line break" if c in "\r\n" else "a control character"
            raise self.fail(f"{what} inside a string (write it escaped)", i)
        self.i = i + 1
        return json.loads(text[start:self.i])  # type: ignore[no-any-return]

    def obj(self, path: str, depth: int) -> None:
        self.i += 1
        self.skip_ws()
        if self.peek() == "}":
            self.i += 1
            return
        while True:
            self.skip_ws()
            if self.peek() != '"':
                if self.peek() == "}":
                    raise self.fail("a comma before '}' (trailing commas are not JSON)")
                raise self.fail(f"expected a key in double quotes, found {_shown(self.peek())}")
            key_at = position_at(self.text, self.i, self.starts)
            key = self.string()
            self.skip_ws()
            if self.peek() != ":":
                raise self.fail(f"expected ':' after the key {key!r}")
            self.i += 1
            self.skip_ws()
            self.value(child_path(path, key), depth + 1, key_at)
            self.skip_ws()
            c = self.peek()
            if c == ",":
                self.i += 1
                continue
            if c == "}":
                self.i += 1
                return
            if c == "":
                raise self.fail("the document ends inside an object (missing '}')")
            raise self.fail(f"expected ',' or '}}' after a member, found {_shown(c)}")

    def array(self, path: str, depth: int) -> None:
        self.i += 1
        self.skip_ws()
        if self.peek() == "]":
            self.i += 1
            return
        index = 0
        while True:
            self.skip_ws()
            if self.peek() == "]":
                raise self.fail("a comma before ']' (trailing commas are not JSON)")
            self.value(child_path(path, index), depth + 1)
            index += 1
            self.skip_ws()
            c = self.peek()
            if c == ",":
                self.i += 1
                continue
            if c == "]":
                self.i += 1
                return
            if c == "":
                raise self.fail("the document ends inside a list (missing ']')")
            raise self.fail(f"expected ',' or ']' after an item, found {_shown(c)}")


def _shown(c: str) -> str:
    if not c:
        return "the end"
    if c.isprintable() and not c.isspace():
        return repr(c)
    return f"U+{ord(c):04X}"


def positions(text: str) -> dict[str, Position]:
    """Where each value of the JSON ``text`` starts (a member: its key), by JSON path.

    Raises :class:`JsonSyntaxError` when ``text`` is not JSON.
    """
    scanner = _Scanner(text)
    try:
        return scanner.scan()
    except RecursionError:  # a deep stack already in use: still a fault, not a crash
        raise scanner.fail("the document is nested too deeply") from None


def parent_path(path: str) -> str | None:
    """``$.a.b[2]`` → ``$.a.b``; ``$`` → None."""
    m = _LAST_SEGMENT.search(path)
    if m is None or path == "$":
        return None
    return path[: m.start()] or None


def locate(found: dict[str, Position], path: str) -> Position:
    """The position of ``path``, or of its nearest enclosing value that is there."""
    current: str | None = path
    while current is not None:
        if current in found:
            return found[current]
        current = parent_path(current)
    return found.get("$", Position(1, 1))
