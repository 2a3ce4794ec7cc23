"""Text values and their typed readings (numbers, booleans, times).

Everything a runbook passes around is text, as in SCO. This module is the one
place that decides when a text *is* a number or a time, and how a number,
boolean or time is written back as text — so data functions, link conditions
and job parameters agree.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from orch.document.model import as_text

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)

PARAMETER_TYPES: tuple[str, ...] = ("string", "integer", "boolean", "datetime")


def parse_number(text: str) -> Decimal | None:
    """The decimal number a text spells (surrounding blanks allowed), else None.

    Only plain decimal notation counts (``12``, ``-3.5``, ``.5``): ``1e3``,
    ``NaN`` and ``inf`` are text, so that comparing version strings or ids
    never turns surprising.
    """
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        return None
    try:
        return Decimal(stripped)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def is_integer_text(text: str) -> bool:
    return _INTEGER.fullmatch(text.strip()) is not None


def format_number(value: Decimal | int) -> str:
    """Decimal notation, never an exponent; ``-0`` is written ``0``."""
    if isinstance(value, int):
        return str(value)
    text = format(value, "f")
    if value.is_zero():
        text = text.lstrip("-")
    return text


def parse_datetime(text: str) -> datetime:
    """Read an RFC 3339 / ISO 8601 time; a time without offset is taken as UTC.

    Raises ValueError with a plain reason.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("expected a date and time, got empty text")
    candidate = stripped[:-1] + "+00:00" if stripped[-1] in "zZ" else stripped
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"{stripped!r} is not a date and time (expected RFC 3339, like 2024-05-01T12:00:00Z)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (fractions only when present)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_text() -> str:
    """The current time as RFC 3339 UTC, whole seconds."""
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def canonical(value: Any, type_name: str) -> str:
    """The canonical text of a parameter value of a declared type.

    Accepts JSON scalars as an API caller or a document author writes them
    (``5`` or ``"5"`` for an integer, ``true`` or ``"TRUE"`` for a boolean).
    Raises ValueError with a plain reason when the value does not fit.
    """
    if value is None or isinstance(value, dict | list):
        raise ValueError(f"expected a {type_name} value, got {_kind(value)}")
    if type_name == "string":
        return as_text(value)
    if type_name == "integer":
        if isinstance(value, bool):
            raise ValueError("expected an integer, got a boolean")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if value.is_integer():
                return str(int(value))
            raise ValueError(f"expected an integer, got {value!r}")
        if is_integer_text(value):
            return str(int(value.strip()))
        raise ValueError(f"expected an integer, got {value!r}")
    if type_name == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower()
        raise ValueError(f"expected true or false, got {value!r}")
    if type_name == "datetime":
        if not isinstance(value, str):
            raise ValueError(f"expected a date and time as text, got {_kind(value)}")
        return format_datetime(parse_datetime(value))
    raise ValueError(f"unknown type {type_name!r} (expected one of {', '.join(PARAMETER_TYPES)})")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "text"


def convert_lenient(value: Any, tp: Any) -> Any:
    """Convert plain JSON ``value`` to ``tp`` the way activity properties are.

    Lenient (``strict=False``: text becomes numbers and booleans); if that
    fails, once more with every scalar read as text — a document author may
    write ``"args": ["-n", 3]`` where text is declared. Raises the FIRST
    attempt's ``msgspec.ValidationError`` (its message names the real fault).
    """
    try:
        return msgspec.convert(value, tp, strict=False)
    except msgspec.ValidationError as exc:
        first = exc
    try:
        return msgspec.convert(scalars_as_text(value), tp, strict=False)
    except msgspec.ValidationError:
        raise first from None


def scalars_as_text(value: Any) -> Any:
    """``value`` with every number and boolean inside it written as text."""
    if isinstance(value, dict):
        return {k: scalars_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scalars_as_text(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    return as_text(value)
