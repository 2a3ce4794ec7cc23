"""Date and time format strings: .NET-style patterns (as SCO users write them) and strftime.

A format containing ``%`` is a Python ``strftime``/``strptime`` format.
Anything else is a .NET custom pattern: ``yyyy-MM-dd HH:mm:ss``, ``dddd``,
``MMM``, ``hh:mm tt``, ``fff``, ``zzz``, ``K``, ``'literal'`` and ``\\c``
escapes. Output is rendered here (not by ``strftime``), so padding does not
depend on the C library; parsing maps the pattern onto ``strptime``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from orch.sdk import ActivityError

_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\\.|y+|M+|d+|H+|h+|m+|s+|f+|t+|z+|K|.", re.S)
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def is_strftime(fmt: str) -> bool:
    return "%" in fmt


def _tokens(fmt: str) -> list[str]:
    return _TOKEN.findall(fmt)


def _literal(token: str) -> str | None:
    """The literal text of a token, or None when it is a pattern field."""
    if token[0] in "'\"" and len(token) >= 2 and token[-1] == token[0]:
        return token[1:-1]
    if token[0] == "\\":
        return token[1:]
    if token[0] in "yMdHhmsftzK":
        return None
    return token


def render(fmt: str, value: datetime) -> str:
    """``value`` formatted with a .NET-style pattern."""
    out: list[str] = []
    for token in _tokens(fmt):
        literal = _literal(token)
        out.append(literal if literal is not None else _field(token, value))
    return "".join(out)


def _field(token: str, v: datetime) -> str:
    c, n = token[0], len(token)
    if c == "y":
        if n == 1:
            return str(v.year % 100)
        if n == 2:
            return f"{v.year % 100:02d}"
        return f"{v.year:0{n}d}"
    if c == "M":
        if n <= 2:
            return f"{v.month:0{n}d}"
        name = _MONTHS[v.month - 1]
        return name[:3] if n == 3 else name
    if c == "d":
        if n <= 2:
            return f"{v.day:0{n}d}"
        name = _DAYS[v.weekday()]
        return name[:3] if n == 3 else name
    if c == "H":
        return f"{v.hour:0{min(n, 2)}d}"
    if c == "h":
        return f"{(v.hour % 12) or 12:0{min(n, 2)}d}"
    if c == "m":
        return f"{v.minute:0{min(n, 2)}d}"
    if c == "s":
        return f"{v.second:0{min(n, 2)}d}"
    if c == "f":
        return f"{v.microsecond:06d}0"[: min(n, 7)]
    if c == "t":
        ampm = "AM" if v.hour < 12 else "PM"
        return ampm[:1] if n == 1 else ampm
    offset = v.utcoffset()
    if c == "K":
        if offset is None:
            return ""
        return "Z" if not offset else _offset(offset, 3)
    return _offset(offset or timedelta(0), n)  # z, zz, zzz


def _offset(offset: timedelta, n: int) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    if n == 1:
        return f"{sign}{hours}"
    if n == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{mins:02d}"


_STRPTIME = {
    "y": lambda n: "%y" if n <= 2 else "%Y",
    "M": lambda n: "%m" if n <= 2 else ("%b" if n == 3 else "%B"),
    "d": lambda n: "%d" if n <= 2 else ("%a" if n == 3 else "%A"),
    "H": lambda n: "%H",
    "h": lambda n: "%I",
    "m": lambda n: "%M",
    "s": lambda n: "%S",
    "f": lambda n: "%f",
    "t": lambda n: "%p",
    "z": lambda n: "%z",
    "K": lambda n: "%z",
}


def to_strptime(fmt: str, prop: str) -> str:
    """The ``strptime`` format that reads what a .NET-style pattern writes."""
    out: list[str] = []
    for token in _tokens(fmt):
        literal = _literal(token)
        if literal is not None:
            out.append(literal.replace("%", "%%"))
            continue
        if token[0] == "f" and len(token) > 6:
            raise ActivityError(f"property {prop}: at most 6 fraction digits (ffffff) can be read")
        if token == "t":
            raise ActivityError(f"property {prop}: use tt to read AM/PM")
        out.append(_STRPTIME[token[0]](len(token)))
    return "".join(out)
