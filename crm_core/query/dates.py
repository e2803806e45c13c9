"""Date and datetime literals of SOQL: absolute values and relative ranges against a given today."""

from __future__ import annotations

import datetime as dt
import re

_FIXED = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
_UNITS = {"WEEK": "WEEK", "MONTH": "MONTH", "QUARTER": "QUARTER", "YEAR": "YEAR"}
_PERIOD = re.compile(r"^(THIS|LAST|NEXT)_(FISCAL_)?(WEEK|MONTH|QUARTER|YEAR)$")
_N_PERIOD = re.compile(r"^(LAST|NEXT)_N_(FISCAL_)?(DAYS|WEEKS|MONTHS|QUARTERS|YEARS)$")
_N_AGO = re.compile(r"^N_(FISCAL_)?(DAYS|WEEKS|MONTHS|QUARTERS|YEARS)_AGO$")

DateRange = tuple[dt.date, dt.date]


def needs_argument(name: str) -> bool | None:
    """True for ``LAST_N_DAYS``-style literals, False for plain ones, None when `name` is no date literal."""
    if name in _FIXED or name in ("LAST_90_DAYS", "NEXT_90_DAYS") or _PERIOD.match(name):
        return False
    if _N_PERIOD.match(name) or _N_AGO.match(name):
        return True
    return None


def literal_range(name: str, argument: int | None, today: dt.date) -> DateRange:
    """The half-open range [start, end) of dates a relative date literal stands for."""
    if name in _FIXED:
        day = today + dt.timedelta(days=_FIXED[name])
        return day, day + dt.timedelta(days=1)
    if name == "LAST_90_DAYS":
        return literal_range("LAST_N_DAYS", 90, today)
    if name == "NEXT_90_DAYS":
        return literal_range("NEXT_N_DAYS", 90, today)
    if match := _PERIOD.match(name):
        which, _, unit = match.groups()
        start = _period_start(unit, today)
        start = _shift(unit, start, {"THIS": 0, "LAST": -1, "NEXT": 1}[which])
        return start, _shift(unit, start, 1)
    n = argument or 0
    if match := _N_PERIOD.match(name):
        which, _, units = match.groups()
        if units == "DAYS":
            if which == "LAST":
                return today - dt.timedelta(days=n), today + dt.timedelta(days=1)
            return today + dt.timedelta(days=1), today + dt.timedelta(days=n + 1)
        unit = units[:-1]
        current = _period_start(unit, today)
        if which == "LAST":
            return _shift(unit, current, -n), current
        following = _shift(unit, current, 1)
        return following, _shift(unit, following, n)
    if match := _N_AGO.match(name):
        _, units = match.groups()
        if units == "DAYS":
            day = today - dt.timedelta(days=n)
            return day, day + dt.timedelta(days=1)
        unit = units[:-1]
        start = _shift(unit, _period_start(unit, today), -n)
        return start, _shift(unit, start, 1)
    raise ValueError(f"not a date literal: {name}")


def _period_start(unit: str, day: dt.date) -> dt.date:
    if unit == "WEEK":  # weeks start on Sunday
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)
    if unit == "MONTH":
        return day.replace(day=1)
    if unit == "QUARTER":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def _shift(unit: str, start: dt.date, count: int) -> dt.date:
    if unit == "WEEK":
        return start + dt.timedelta(days=7 * count)
    months = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[unit] * count
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_date(text: str) -> dt.date:
    """An unquoted date literal ``YYYY-MM-DD``; ValueError if it is no calendar date."""
    return dt.date.fromisoformat(text)


def parse_datetime(text: str) -> dt.datetime:
    """An unquoted datetime literal (``Z`` or an offset) as a naive UTC datetime; ValueError if invalid."""
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    if re.search(r"[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    if "." in value:  # Python accepts at most 6 fractional digits
        head, _, rest = value.partition(".")
        digits = re.match(r"\d+", rest).group()  # type: ignore[union-attr]
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def to_datetime(day: dt.date) -> dt.datetime:
    """Midnight UTC of `day`, the start of that day for datetime fields."""
    return dt.datetime(day.year, day.month, day.day)
