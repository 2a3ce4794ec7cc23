"""Named schedules: when something may run (SCO's schedules, plus cron forms).

A schedule is a JSON object (``PUT /api/v1/schedules/{name}``)::

    {"time_zone": "Europe/Paris",
     "days_of_week": ["mon", "tue", "wed", "thu", "fri"],
     "days_of_month": [],
     "hours": ["08:00-12:00", "13:30-18:00"],
     "cron": [],
     "exceptions": [{"date": "2026-12-25"}, {"from": "2026-12-24", "to": "2026-12-31"}]}

A time is *inside* the schedule when, read in ``time_zone``, its date is not
an exception, and it passes every rule that is not empty: its weekday is in
``days_of_week``; its day is in ``days_of_month`` (``-1`` is the month's last
day, ``-2`` the one before…); its time of day is in one of ``hours``
(``start-end``, end excluded, ``22:00-06:00`` wraps past midnight,
``24:00`` ends the day); it matches one of the ``cron`` expressions
(five fields, minute precision, via croniter). An empty schedule is always
inside. Invalid definitions fail to decode (the API answers 422 with the path).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

__all__ = ["DAYS", "Schedule", "ScheduleException"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleException(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Dates (in the schedule's time zone) when the schedule is closed: one
    ``date``, or every date ``from`` … ``to`` (both included)."""

    date: date | None = None
    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None

    def __post_init__(self) -> None:
        if self.date is None and (self.from_ is None or self.to is None):
            raise ValueError("an exception needs `date`, or `from` and `to`")
        if self.date is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("an exception has either `date` or `from`/`to`, not both")
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("`to` is before `from`")

    def covers(self, day: date) -> bool:
        if self.date is not None:
            return day == self.date
        assert self.from_ is not None and self.to is not None
        return self.from_ <= day <= self.to


class Schedule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A named schedule's definition; see the module docstring for its meaning."""

    description: str = ""
    time_zone: str = "UTC"
    days_of_week: list[str] = []
    days_of_month: list[int] = []
    hours: list[str] = []
    cron: list[str] = []
    exceptions: list[ScheduleException] = []

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.time_zone!r}") from None
        for day in self.days_of_week:
            if day.lower()[:3] not in DAYS:
                raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
        for n in self.days_of_month:
            if n == 0 or not -31 <= n <= 31:
                raise ValueError(f"day of month {n} is not 1..31 or -1..-31 (from the end)")
        for text in self.hours:
            _parse_range(text)
        if self.cron:
            from croniter import croniter

            for expr in self.cron:
                if not croniter.is_valid(expr):
                    raise ValueError(f"invalid cron expression {expr!r}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def contains(self, when: datetime) -> bool:
        """Is ``when`` (an aware time; naive is taken as UTC) inside the schedule?"""
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo("UTC"))
        local = when.astimezone(self.zone)
        day = local.date()
        if any(e.covers(day) for e in self.exceptions):
            return False
        if self.days_of_week and DAYS[local.weekday()] not in {
            d.lower()[:3] for d in self.days_of_week
        }:
            return False
        if self.days_of_month:
            last = calendar.monthrange(local.year, local.month)[1]
            wanted = {n if n > 0 else last + 1 + n for n in self.days_of_month}
            if local.day not in wanted:
                return False
        if self.hours:
            minute = local.hour * 60 + local.minute
            if not any(_in_range(minute, *_parse_range(r)) for r in self.hours):
                return False
        if self.cron:
            from croniter import croniter

            naive = local.replace(second=0, microsecond=0, tzinfo=None)
            if not any(croniter.match(expr, naive) for expr in self.cron):
                return False
        return True

    def next_inside(self, after: datetime, *, horizon_days: int = 366) -> datetime | None:
        """The first whole minute after ``after`` that is inside (None within the horizon)."""
        if after.tzinfo is None:
            after = after.replace(tzinfo=ZoneInfo("UTC"))
        t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = t + timedelta(days=horizon_days)
        while t < end:
            if self.contains(t):
                return t
            # skip a closed day at once; else step a minute
            local = t.astimezone(self.zone)
            if not self._day_open(local.date()):
                nxt = datetime.combine(local.date() + timedelta(days=1), time(), self.zone)
                t = nxt.astimezone(after.tzinfo)
            else:
                t += timedelta(minutes=1)
        return None

    def _day_open(self, day: date) -> bool:
        if any(e.covers(day) for e in self.exceptions):
            return False
        if self.days_of_week and DAYS[day.weekday()] not in {
            d.lower()[:3] for d in self.days_of_week
        }:
            return False
        if self.days_of_month:
            last = calendar.monthrange(day.year, day.month)[1]
            if day.day not in {n if n > 0 else last + 1 + n for n in self.days_of_month}:
                return False
        return True


def _parse_range(text: str) -> tuple[int, int]:
    m = _RANGE.match(text.strip())
    if m is None:
        raise ValueError(f"hours {text!r}: expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"hours {text!r}: not a time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"hours {text!r}: empty range")
    return start, end


def _in_range(minute: int, start: int, end: int) -> bool:
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps past midnight
