"""``format_date_time``: read a date and time, shift it, and write it in another format."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from activities import _dateformat
from orch.sdk import ActivityError, Context, Inputs, Published, activity, format_time

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class FormatDateTimeInputs(Inputs):
    value: str = ""
    """The date and time to read; empty means now."""
    input_format: str = ""
    """How ``value`` is written: empty reads ISO 8601 / RFC 3339 (or Unix seconds);
    ``unix`` / ``unix_ms`` for Unix time; a .NET pattern (``dd/MM/yyyy HH:mm``) or a
    strftime format (``%d/%m/%Y``)."""
    input_timezone: str = "UTC"
    """Time zone (IANA name, like ``Europe/Paris``) of a ``value`` that carries no offset."""
    output_format: str = ""
    """How to write the result: empty gives RFC 3339 (``2024-05-01T10:00:00Z`` in UTC);
    ``unix`` / ``unix_ms``; a .NET pattern or a strftime format."""
    output_timezone: str = "UTC"
    """Time zone (IANA name) the result is written in."""
    add_years: int = 0
    """Years to add (negative subtracts); the day is kept, or the month's last day."""
    add_months: int = 0
    """Months to add (negative subtracts); the day is kept, or the month's last day."""
    add_days: float = 0
    """Days to add on the calendar of ``output_timezone`` (the clock time is kept)."""
    add_hours: float = 0
    """Hours of elapsed time to add (negative subtracts)."""
    add_minutes: float = 0
    """Minutes of elapsed time to add (negative subtracts)."""
    add_seconds: float = 0
    """Seconds of elapsed time to add (negative subtracts)."""


class FormattedDateTime(Published):
    Value: str
    """The result in ``output_format``."""
    Time: datetime
    """The result as RFC 3339 UTC, whatever the output format."""


@activity(
    "format_date_time",
    display_name="Format Date/Time",
    category="Utilities",
    rerunnable=True,
)
async def format_date_time(ctx: Context, inputs: FormatDateTimeInputs) -> FormattedDateTime:
    """Read ``value`` in ``input_format``, add the offsets, write it in ``output_format``.

    Years, months and days move along the calendar of ``output_timezone``
    (so "add 1 day" keeps the clock time across a daylight-saving change);
    hours, minutes and seconds add elapsed time.
    """
    in_zone = _zone(inputs.input_timezone, "input_timezone")
    out_zone = _zone(inputs.output_timezone, "output_timezone")
    moment = _read(inputs.value, inputs.input_format, in_zone)
    local = moment.astimezone(out_zone)
    try:
        local = _add_months(local, inputs.add_years * 12 + inputs.add_months)
        naive = local.replace(tzinfo=None) + timedelta(days=inputs.add_days)
        local = naive.replace(tzinfo=out_zone)
        elapsed = timedelta(
            hours=inputs.add_hours, minutes=inputs.add_minutes, seconds=inputs.add_seconds
        )
        result = (local.astimezone(UTC) + elapsed).astimezone(out_zone)
    except OverflowError:
        raise ActivityError("the offsets move the date out of range (years 1 to 9999)") from None
    return FormattedDateTime(Value=_write(result, inputs.output_format), Time=result)


def _zone(name: str, prop: str) -> tzinfo:
    key = name.strip()
    if key.upper() in ("UTC", "Z", ""):
        return UTC
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActivityError(f"property {prop}: unknown time zone {name!r}") from None


def _read(value: str, fmt: str, zone: tzinfo) -> datetime:
    text = value.strip()
    kind = fmt.strip().lower()
    if not text:
        return datetime.now(UTC)
    try:
        if kind in ("unix", "unix_ms") or (not fmt and _NUMBER.match(text)):
            seconds = float(text) / (1000 if kind == "unix_ms" else 1)
            return datetime.fromtimestamp(seconds, UTC)
        if not fmt:
            parsed = datetime.fromisoformat(text)
        elif _dateformat.is_strftime(fmt):
            parsed = datetime.strptime(text, fmt)
        else:
            parsed = datetime.strptime(text, _dateformat.to_strptime(fmt, "input_format"))
    except (ValueError, OverflowError, OSError):
        how = f"as {fmt!r}" if fmt else "as ISO 8601 (set input_format)"
        raise ActivityError(f"property value: cannot read {value!r} {how}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _add_months(value: datetime, months: int) -> datetime:
    if not months:
        return value
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _write(value: datetime, fmt: str) -> str:
    kind = fmt.strip().lower()
    if not fmt:
        return format_time(value) if value.utcoffset() == timedelta(0) else value.isoformat()
    if kind == "unix":
        seconds = value.timestamp()
        return str(int(seconds)) if seconds.is_integer() else repr(seconds)
    if kind == "unix_ms":
        return str(round(value.timestamp() * 1000))
    if _dateformat.is_strftime(fmt):
        return value.strftime(fmt)
    return _dateformat.render(fmt, value)
