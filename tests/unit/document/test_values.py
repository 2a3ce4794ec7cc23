"""Text values: when text is a number or a time, and canonical parameter text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from orch.document.values import (
    canonical,
    format_datetime,
    format_number,
    is_integer_text,
    now_text,
    parse_datetime,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", Decimal(12)), (" -3.5 ", Decimal("-3.5")), (".5", Decimal("0.5")), ("+7", Decimal(7)),
     ("3.", Decimal(3)), ("007", Decimal(7)), ("", None), ("1e3", None), ("NaN", None),
     ("inf", None), ("1,000", None), ("0x10", None), ("--1", None), ("٣", None)],
)  # fmt: skip
def test_parse_number(text: str, expected: Decimal | None) -> None:
    assert parse_number(text) == expected


def test_is_integer_text() -> None:
    assert is_integer_text(" -42 ") and not is_integer_text("4.0") and not is_integer_text("")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("1.50"), "1.50"), (Decimal("-0"), "0"), (Decimal("-0.00"), "0.00"),
     (Decimal("1E+3"), "1000"), (Decimal("1E-7"), "0.0000001"), (12, "12")],
)  # fmt: skip
def test_format_number(value: Decimal | int, expected: str) -> None:
    assert format_number(value) == expected


def test_datetimes() -> None:
    assert parse_datetime("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_datetime("2024-05-01T12:00:00z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_datetime("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_datetime("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="is not a date and time"):
        parse_datetime("May 1st")
    with pytest.raises(ValueError, match="got empty text"):
        parse_datetime("  ")
    tz = timezone(timedelta(hours=-5))
    assert format_datetime(datetime(2024, 5, 1, 7, tzinfo=tz)) == "2024-05-01T12:00:00Z"
    assert format_datetime(datetime(2024, 5, 1, 7, 0, 0, 500000)) == "2024-05-01T07:00:00.500000Z"
    now = now_text()
    assert now.endswith("Z") and parse_datetime(now).microsecond == 0


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [("x", "string", "x"), (5, "string", "5"), (2.0, "string", "2"), (2.5, "string", "2.5"),
     (False, "string", "false"), (5, "integer", "5"), ("-05", "integer", "-5"),
     (3.0, "integer", "3"), (True, "boolean", "true"), (" False ", "boolean", "false"),
     ("2024-05-01T12:00:00+01:00", "datetime", "2024-05-01T11:00:00Z")],
)  # fmt: skip
def test_canonical(value: Any, type_: str, expected: str) -> None:
    assert canonical(value, type_) == expected


def test_canonical_unknown_type() -> None:
    with pytest.raises(ValueError, match="unknown type 'float'"):
        canonical("1", "float")
