"""A small JSON path: enough to pick values out of a web service's answer.

Supported: the root ``$`` (optional), ``.name``, ``['name']`` / ``["name"]``,
``[N]`` (negative from the end), ``[start:stop:step]``, ``*`` / ``[*]``
(every member or element), and ``..`` recursive descent (``$..id``). Filters
and scripts are not: a path is data, never code.

In a runbook property a path is written as it is: ``[`` starts a data
function only right before a function name and ``(``, so ``[0]``, ``[*]`` and
``['name']`` are text. ``.N`` (``$.items.0.name``) and ``.*`` also select array
elements without brackets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from orch.sdk import ActivityError, to_text


@dataclass(frozen=True, slots=True)
class _Name:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class _Wild:
    pass


@dataclass(frozen=True, slots=True)
class _Descend:
    pass


Step = _Name | _Index | _Slice | _Wild | _Descend

_DOT_NAME = re.compile(r"[^.\[\]\s]+")
_INDEX = re.compile(r"^-?\d+$")
_INT = r"\s*(-?\d+)?\s*"
_SLICE = re.compile(rf"^{_INT}:{_INT}(?::{_INT})?$")


class JsonPathError(ActivityError):
    """The JSON path is invalid."""


def parse(path: str) -> list[Step]:
    """Compile ``path`` into steps (raises :class:`JsonPathError` with the position)."""
    text = path.strip()
    if not text:
        raise JsonPathError("empty JSON path")
    steps: list[Step] = []
    i = 0
    if text[0] == "$":
        i = 1
    elif text[0] not in ".[":
        text = "." + text  # ``a.b`` means ``$.a.b``
    n = len(text)
    while i < n:
        c = text[i]
        if text.startswith("..", i):
            steps.append(_Descend())
            i += 2
            if i < n and text[i] == "[":
                continue
            i = _dot_member(text, i, steps)
        elif c == ".":
            i = _dot_member(text, i + 1, steps)
        elif c == "[":
            i = _bracket(text, i, steps)
        else:
            raise JsonPathError(f"unexpected {c!r} at position {i + 1} of JSON path {path!r}")
    if steps and isinstance(steps[-1], _Descend):
        raise JsonPathError(f"JSON path {path!r} ends with '..'")
    return steps


def _dot_member(text: str, i: int, steps: list[Step]) -> int:
    if i < len(text) and text[i] == "*":
        steps.append(_Wild())
        return i + 1
    m = _DOT_NAME.match(text, i)
    if m is None:
        raise JsonPathError(f"a name is expected at position {i + 1} of JSON path {text!r}")
    steps.append(_Name(m.group(0)))
    return m.end()


def _bracket(text: str, i: int, steps: list[Step]) -> int:
    j = i + 1
    if j < len(text) and text[j] in "'\"":
        quote = text[j]
        j += 1
        name: list[str] = []
        while j < len(text):
            ch = text[j]
            if ch == "\\" and j + 1 < len(text):
                name.append(text[j + 1])
                j += 2
                continue
            if ch == quote:
                break
            name.append(ch)
            j += 1
        else:
            raise JsonPathError(f"unterminated quoted name in JSON path {text!r}")
        if not text.startswith("]", j + 1):
            raise JsonPathError(f"']' expected at position {j + 2} of JSON path {text!r}")
        steps.append(_Name("".join(name)))
        return j + 2
    close = text.find("]", j)
    if close < 0:
        raise JsonPathError(f"unclosed '[' at position {i + 1} of JSON path {text!r}")
    inner = text[j:close].strip()
    if inner == "*":
        steps.append(_Wild())
    elif re.fullmatch(r"-?\d+", inner):
        steps.append(_Index(int(inner)))
    elif (m := _SLICE.match(inner)) is not None:
        start, stop, step = (int(g) if g is not None else None for g in m.groups())
        if step == 0:
            raise JsonPathError(f"slice step must not be 0 in JSON path {text!r}")
        steps.append(_Slice(start, stop, step))
    else:
        raise JsonPathError(
            f"[{inner}] at position {i + 1} of JSON path {text!r}: "
            "expected an index, a slice, * or a quoted name"
        )
    return close + 1


def select(document: Any, steps: list[Step]) -> list[Any]:
    """Every value ``steps`` reach in ``document``, in document order."""
    nodes = [document]
    for step in steps:
        out: list[Any] = []
        for node in nodes:
            out.extend(_apply(step, node))
        nodes = out
    return nodes


def _apply(step: Step, node: Any) -> Iterator[Any]:
    match step:
        case _Name(name):
            if isinstance(node, dict):
                if name in node:
                    yield node[name]
            elif isinstance(node, list) and _INDEX.match(name):
                index = int(name)
                if -len(node) <= index < len(node):
                    yield node[index]
        case _Index(index):
            if isinstance(node, list) and -len(node) <= index < len(node):
                yield node[index]
        case _Slice(start, stop, stride):
            if isinstance(node, list):
                yield from node[start:stop:stride]
        case _Wild():
            if isinstance(node, dict):
                yield from node.values()
            elif isinstance(node, list):
                yield from node
        case _Descend():
            yield from _descendants(node)


def _descendants(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _descendants(child)


def decode(text: str, prop: str) -> Any:
    """Parse JSON text (property ``prop``), failing the run with the reason."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ActivityError(f"property {prop}: not valid JSON: {exc}") from None


def compile_path(path: str, prop: str = "path") -> list[Step]:
    """Parse ``path`` (property ``prop``); a bad path fails the run naming the property."""
    try:
        return parse(path)
    except JsonPathError as exc:
        raise ActivityError(f"property {prop}: {exc.message}") from None


def query(document: Any, path: str, prop: str = "path") -> list[Any]:
    """Values at ``path`` (property ``prop``) in a decoded document."""
    return select(document, compile_path(path, prop))


def value_text(value: Any) -> str:
    """A selected value as published text: strings as is, null empty, the rest as JSON."""
    if isinstance(value, float):
        return msgspec.json.encode(value).decode()
    return to_text(value)
