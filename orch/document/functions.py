"""Data functions usable as ``[Fn(args)]`` in expressions.

Each function takes its arguments as text and returns text, as in SCO.
Positions are 1-based (``Mid``, ``Field``, ``InStr``). Numbers are read and
written in plain decimal; arithmetic on integers gives integers. Times are
RFC 3339 UTC. A function signals a bad argument with :class:`FunctionError`
naming the argument, and the expression evaluator turns it into an
``ExpressionError`` naming the expression.

The registry is looked up by name case-insensitively at parse time, so an
unknown function or a wrong argument count is a validation fault, never a
runtime surprise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation, localcontext

from orch.document.values import (
    format_datetime,
    format_number,
    is_integer_text,
    parse_datetime,
    parse_number,
)


class FunctionError(Exception):
    """A data function rejected an argument (``argument`` is 1-based, or None)."""

    def __init__(self, message: str, argument: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument


Impl = Callable[[Sequence[str]], str]


@dataclass(frozen=True, slots=True)
class DataFunction:
    name: str
    min_args: int
    max_args: int | None
    """None: any number of arguments from ``min_args`` on."""
    impl: Impl
    signature: str
    summary: str

    def arity_text(self) -> str:
        if self.max_args == self.min_args:
            n = self.min_args
            return f"{n} argument" + ("" if n == 1 else "s")
        if self.max_args is None:
            return f"at least {self.min_args} argument" + ("" if self.min_args == 1 else "s")
        return f"{self.min_args} to {self.max_args} arguments"


FUNCTIONS: dict[str, DataFunction] = {}
_BY_LOWER: dict[str, DataFunction] = {}


def lookup(name: str) -> DataFunction | None:
    """The function called ``name`` (case-insensitive), or None."""
    return _BY_LOWER.get(name.lower())


def _register(
    signature: str, summary: str, min_args: int, max_args: int | None
) -> Callable[[Impl], Impl]:
    name = signature.split("(", 1)[0]

    def wrap(impl: Impl) -> Impl:
        fn = DataFunction(name, min_args, max_args, impl, signature, summary)
        FUNCTIONS[name] = fn
        _BY_LOWER[name.lower()] = fn
        return impl

    return wrap


# ---- argument readers ------------------------------------------------------------------------


def _number(args: Sequence[str], i: int) -> Decimal:
    value = parse_number(args[i])
    if value is None:
        raise FunctionError(f"expected a number, got {_show(args[i])}", i + 1)
    return value


def _whole(
    args: Sequence[str], i: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = parse_number(args[i])
    if value is None or value != value.to_integral_value():
        raise FunctionError(f"expected a whole number, got {_show(args[i])}", i + 1)
    n = int(value)
    if minimum is not None and n < minimum:
        raise FunctionError(f"must be {minimum} or more, got {n}", i + 1)
    if maximum is not None and n > maximum:
        raise FunctionError(f"must be {maximum} or less, got {n}", i + 1)
    return n


def _time(args: Sequence[str], i: int) -> datetime:
    try:
        return parse_datetime(args[i])
    except ValueError as e:
        raise FunctionError(str(e), i + 1) from None


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _integers(args: Sequence[str]) -> list[int] | None:
    """The arguments as exact integers when every one is written as a whole number."""
    if all(is_integer_text(a) for a in args):
        return [int(a.strip()) for a in args]
    return None


MAX_DECIMALS = 100
MAX_WIDTH = 100_000


def _round(value: Decimal, digits: int, argument: int) -> str:
    if digits > MAX_DECIMALS:
        raise FunctionError(f"must be {MAX_DECIMALS} or less, got {digits}", argument)
    try:
        with localcontext() as ctx:
            ctx.prec = max(28, digits + len(str(int(value))) + 2)
            return format_number(value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))
    except InvalidOperation:
        raise FunctionError(f"cannot round to {digits} decimal places", argument) from None


# ---- text ------------------------------------------------------------------------------------


@_register("Upper(text)", "the text in upper case", 1, 1)
def _upper(args: Sequence[str]) -> str:
    return args[0].upper()


@_register("Lower(text)", "the text in lower case", 1, 1)
def _lower(args: Sequence[str]) -> str:
    return args[0].lower()


@_register("Len(text)", "the number of characters", 1, 1)
def _len(args: Sequence[str]) -> str:
    return str(len(args[0]))


@_register("Trim(text)", "the text without leading and trailing blanks", 1, 1)
def _trim(args: Sequence[str]) -> str:
    return args[0].strip()


@_register("LTrim(text)", "the text without leading blanks", 1, 1)
def _ltrim(args: Sequence[str]) -> str:
    return args[0].lstrip()


@_register("RTrim(text)", "the text without trailing blanks", 1, 1)
def _rtrim(args: Sequence[str]) -> str:
    return args[0].rstrip()


@_register("Left(text, count)", "the first count characters (all when shorter)", 2, 2)
def _left(args: Sequence[str]) -> str:
    return args[0][: _whole(args, 1, minimum=0)]


@_register("Right(text, count)", "the last count characters (all when shorter)", 2, 2)
def _right(args: Sequence[str]) -> str:
    n = _whole(args, 1, minimum=0)
    return args[0][len(args[0]) - n :] if n else ""


@_register(
    "Mid(text, start, length)",
    "length characters from position start (1-based); empty past the end",
    3,
    3,
)
def _mid(args: Sequence[str]) -> str:
    start = _whole(args, 1, minimum=1)
    length = _whole(args, 2, minimum=0)
    return args[0][start - 1 : start - 1 + length]


@_register(
    "Field(text, delimiter, position)",
    "the position-th field (1-based) of text split at delimiter",
    3,
    3,
)
def _field(args: Sequence[str]) -> str:
    if not args[1]:
        raise FunctionError("the delimiter must not be empty", 2)
    position = _whole(args, 2, minimum=1)
    fields = args[0].split(args[1])
    if position > len(fields):
        count = len(fields)
        raise FunctionError(
            f"position {position} is out of range: the text has {count} field"
            + ("" if count == 1 else "s"),
            3,
        )
    return fields[position - 1]


@_register("FieldCount(text, delimiter)", "how many fields Field can pick from", 2, 2)
def _field_count(args: Sequence[str]) -> str:
    if not args[1]:
        raise FunctionError("the delimiter must not be empty", 2)
    return str(len(args[0].split(args[1])))


@_register("Replace(text, old, new)", "text with every occurrence of old replaced by new", 3, 3)
def _replace(args: Sequence[str]) -> str:
    if not args[1]:
        raise FunctionError("the text to replace must not be empty", 2)
    return args[0].replace(args[1], args[2])


@_register(
    "InStr(text, search[, start])",
    "the 1-based position of search in text from start, 0 when absent",
    2,
    3,
)
def _instr(args: Sequence[str]) -> str:
    start = _whole(args, 2, minimum=1) if len(args) > 2 else 1
    return str(args[0].find(args[1], start - 1) + 1)


@_register("Coalesce(value, ...)", "the first argument that is not empty", 1, None)
def _coalesce(args: Sequence[str]) -> str:
    return next((a for a in args if a), "")


@_register("PadLeft(text, width[, char])", "text right-aligned to width with char (a blank)", 2, 3)
def _pad_left(args: Sequence[str]) -> str:
    return args[0].rjust(_whole(args, 1, minimum=0, maximum=MAX_WIDTH), _pad_char(args))


@_register("PadRight(text, width[, char])", "text left-aligned to width with char (a blank)", 2, 3)
def _pad_right(args: Sequence[str]) -> str:
    return args[0].ljust(_whole(args, 1, minimum=0, maximum=MAX_WIDTH), _pad_char(args))


def _pad_char(args: Sequence[str]) -> str:
    if len(args) < 3:
        return " "
    if len(args[2]) != 1:
        raise FunctionError(f"expected one character, got {_show(args[2])}", 3)
    return args[2]


# ---- numbers ---------------------------------------------------------------------------------


@_register("Sum(number, ...)", "the sum; whole numbers give a whole number", 1, None)
def _sum(args: Sequence[str]) -> str:
    values = [_number(args, i) for i in range(len(args))]
    ints = _integers(args)
    return str(sum(ints)) if ints is not None else format_number(sum(values, Decimal(0)))


@_register(
    "Diff(number1, number2[, decimals])",
    "number1 - number2, rounded to decimals places when given",
    2,
    3,
)
def _diff(args: Sequence[str]) -> str:
    a, b = _number(args, 0), _number(args, 1)
    if len(args) > 2:
        return _round(a - b, _whole(args, 2, minimum=0), 3)
    ints = _integers(args)
    return str(ints[0] - ints[1]) if ints is not None else format_number(a - b)


@_register("Mult(number, ...)", "the product; whole numbers give a whole number", 1, None)
def _mult(args: Sequence[str]) -> str:
    values = [_number(args, i) for i in range(len(args))]
    ints = _integers(args)
    if ints is not None:
        return str(math.prod(ints))
    return format_number(math.prod(values, start=Decimal(1)))


@_register(
    "Div(number1, number2[, decimals])",
    "number1 / number2, rounded to decimals places when given",
    2,
    3,
)
def _div(args: Sequence[str]) -> str:
    a, b = _number(args, 0), _number(args, 1)
    if b.is_zero():
        raise FunctionError("division by zero", 2)
    with localcontext() as ctx:
        ctx.prec = 28
        try:
            q = a / b
        except (DivisionByZero, InvalidOperation):  # pragma: no cover - zero checked above
            raise FunctionError("division by zero", 2) from None
    if len(args) > 2:
        return _round(q, _whole(args, 2, minimum=0), 3)
    if q == q.to_integral_value():
        return format_number(int(q))
    return format_number(q.normalize())


@_register("Round(number[, decimals])", "number rounded half up to decimals places (0)", 1, 2)
def _round_fn(args: Sequence[str]) -> str:
    value = _number(args, 0)
    digits = _whole(args, 1, minimum=0) if len(args) > 1 else 0
    return _round(value, digits, 2)


# ---- times -----------------------------------------------------------------------------------

utcnow: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
"""The clock ``Now`` reads (replaceable in tests)."""


@_register("Now([format])", "the current UTC time, RFC 3339 or in format", 0, 1)
def _now(args: Sequence[str]) -> str:
    now = utcnow().astimezone(UTC).replace(microsecond=0)
    if args:
        return _format(now, args[0], 1)
    return format_datetime(now)


@_register(
    "FormatDate(time, format)",
    "time written with .NET-style (yyyy-MM-dd HH:mm:ss) or strftime (%Y) format",
    2,
    2,
)
def _format_date(args: Sequence[str]) -> str:
    return _format(_time(args, 0), args[1], 2)


@_register("AddSeconds(time, seconds)", "time plus seconds (may be negative)", 2, 2)
def _add_seconds(args: Sequence[str]) -> str:
    t = _time(args, 0)
    seconds = _number(args, 1)
    try:
        return format_datetime(t + timedelta(seconds=float(seconds)))
    except OverflowError:
        raise FunctionError("the resulting time is out of range", 2) from None


@_register("DateDiff(start, end)", "seconds from start to end (negative when end is earlier)", 2, 2)
def _date_diff(args: Sequence[str]) -> str:
    delta = _time(args, 1) - _time(args, 0)
    whole = delta.days * 86400 + delta.seconds
    if not delta.microseconds:
        return str(whole)
    return format_number(Decimal(whole) + Decimal(delta.microseconds).scaleb(-6))


_TOKENS = re.compile(
    r"yyyy|yy|MMMM|MMM|MM|M|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|fff|ff|f|tt|zzz|K"
    r"|'[^']*'|\"[^\"]*\"|\\.|."
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _format(t: datetime, fmt: str, argument: int) -> str:
    if not fmt:
        raise FunctionError("the format must not be empty", argument)
    if "%" in fmt:
        try:
            return t.strftime(fmt)
        except ValueError as e:  # pragma: no cover - platform-specific strftime errors
            raise FunctionError(f"bad format: {e}", argument) from None
    hour12 = t.hour % 12 or 12
    table = {
        "yyyy": f"{t.year:04d}",
        "yy": f"{t.year % 100:02d}",
        "MMMM": _MONTHS[t.month - 1],
        "MMM": _MONTHS[t.month - 1][:3],
        "MM": f"{t.month:02d}",
        "M": str(t.month),
        "dddd": _DAYS[t.weekday()],
        "ddd": _DAYS[t.weekday()][:3],
        "dd": f"{t.day:02d}",
        "d": str(t.day),
        "HH": f"{t.hour:02d}",
        "H": str(t.hour),
        "hh": f"{hour12:02d}",
        "h": str(hour12),
        "mm": f"{t.minute:02d}",
        "m": str(t.minute),
        "ss": f"{t.second:02d}",
        "s": str(t.second),
        "fff": f"{t.microsecond // 1000:03d}",
        "ff": f"{t.microsecond // 10000:02d}",
        "f": str(t.microsecond // 100000),
        "tt": "AM" if t.hour < 12 else "PM",
        "zzz": "+00:00",
        "K": "Z",
    }
    out: list[str] = []
    for m in _TOKENS.finditer(fmt):
        token = m.group()
        if token in table:
            out.append(table[token])
        elif len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]:
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        else:
            out.append(token)
    return "".join(out)
