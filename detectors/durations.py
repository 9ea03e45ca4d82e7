"""Durations as policy files write them (``90s``, ``10m``, ``24h``, ``7d``) and local calendar helpers."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


MAX_SECONDS = 100 * 365 * 86_400
MONTHLY_STATE = timedelta(days=62)
"""State horizon of rules that sum a local calendar month: the month and a month of claims
or leave recorded late for it."""


def parse_duration(value: object) -> timedelta:
    """``"24h"`` -> ``timedelta(hours=24)``; a bare number is seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 10m, 24h or 7d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _PATTERN.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration; use e.g. 90s, 10m, 24h or 7d")
    if not 0 < seconds <= MAX_SECONDS:  # also NaN
        raise ValueError("a duration must be positive and at most 100 years")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def format_duration(value: timedelta) -> str:
    """The shortest policy spelling of ``value`` (``timedelta(hours=24)`` -> ``"24h"``)."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0 and (unit != "d" or seconds >= 3 * _UNITS["d"]):
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def local_date(ts: float, tz: ZoneInfo) -> date:
    """The local calendar day of POSIX time ``ts``."""
    return datetime.fromtimestamp(ts, tz).date()


@lru_cache(maxsize=4096)
def local_midnight(day: date, tz: ZoneInfo) -> float:
    """POSIX time of 00:00 local on ``day`` (cached: a pure function of the two, asked for by
    every rule that counts per local day, on every event)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def local_day_window(ts: float, tz: ZoneInfo) -> tuple[float, float]:
    """POSIX (start, end) of the local calendar day containing ``ts``."""
    day = local_date(ts, tz)
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def local_quarter_window(ts: float, tz: ZoneInfo) -> tuple[float, float]:
    """POSIX (start, end) of the local calendar quarter containing ``ts``."""
    day = local_date(ts, tz)
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return local_midnight(start, tz), local_midnight(end, tz)


def month_window(day: date, tz: ZoneInfo) -> tuple[float, float]:
    """POSIX (start, end) of the local calendar month of ``day``."""
    start = date(day.year, day.month, 1)
    end = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return local_midnight(start, tz), local_midnight(end, tz)


def suppression_period(ts: float, width: float, tz: ZoneInfo) -> tuple[float, float]:
    """POSIX (start, end) of the fixed period of ``width`` seconds that contains ``ts``.

    Periods are a grid that does not depend on any event: whole days are counted in blocks
    from local day 1 (0001-01-01), a width shorter than a day divides each local day from
    midnight (the day's last period may be shorter), and any other width is counted from
    the POSIX epoch.
    """
    day_s = 86_400
    if width >= day_s and width % day_s == 0:
        days = int(width // day_s)
        day = local_date(ts, tz)
        first = date.fromordinal((day.toordinal() - 1) // days * days + 1)
        return local_midnight(first, tz), local_midnight(first + timedelta(days=days), tz)
    if width < day_s:
        midnight, next_midnight = local_day_window(ts, tz)
        start = midnight + (ts - midnight) // width * width
        return start, min(start + width, next_midnight)
    start = ts // width * width
    return start, start + width
