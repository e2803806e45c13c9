"""Calendar periods of the tasks: months, quarters, seasons and relative windows, all half-open.

`Winter YYYY` runs from 1 December YYYY to 1 March YYYY+1. A relative window "the past N
months" ends at today's midnight and starts N months earlier. The same functions back the
`get_period` and `get_start_date` tools, so the tools and the ground truth agree by construction.
"""

from __future__ import annotations

import datetime as dt
import re

from dateutil.relativedelta import relativedelta

MONTHS: tuple[str, ...] = (
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
)
QUARTERS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")
SEASONS: dict[str, int] = {"Spring": 3, "Summer": 6, "Fall": 9, "Winter": 12}
PERIOD_NAMES: tuple[str, ...] = MONTHS + QUARTERS + tuple(SEASONS)
UNITS: tuple[str, ...] = ("day", "week", "month", "quarter")

PERIOD_RULES = (
    "Periods are half-open: a period [start, end) includes its start and excludes its end. "
    "A month runs from its first day to the first day of the next month. Quarters: Q1 = "
    "January-March, Q2 = April-June, Q3 = July-September, Q4 = October-December. Seasons: "
    "Spring = March-May, Summer = June-August, Fall = September-November, Winter YYYY = "
    "1 December YYYY to the end of February YYYY+1. 'The past N months' (weeks, quarters, days) "
    "runs from today minus N months to today (midnight UTC). All times are UTC."
)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$")


def period_bounds(period_name: str, year: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a named month, quarter or season of `year`; ValueError if unknown."""
    if period_name in MONTHS:
        start = dt.datetime(year, MONTHS.index(period_name) + 1, 1)
        return start, start + relativedelta(months=1)
    if period_name in QUARTERS:
        start = dt.datetime(year, 3 * QUARTERS.index(period_name) + 1, 1)
        return start, start + relativedelta(months=3)
    if period_name in SEASONS:
        start = dt.datetime(year, SEASONS[period_name], 1)
        return start, start + relativedelta(months=3)
    raise ValueError(f"unknown period name {period_name!r}; use one of {', '.join(PERIOD_NAMES)}")


def window_start(end: dt.datetime, unit: str, count: int) -> dt.datetime:
    """The start of the window of `count` `unit`s (day, week, month, quarter) ending at `end`."""
    if unit not in UNITS:
        raise ValueError(f"unknown period {unit!r}; use one of {', '.join(UNITS)}")
    if count < 0:
        raise ValueError("interval_count must not be negative")
    steps = {
        "day": relativedelta(days=count),
        "week": relativedelta(weeks=count),
        "month": relativedelta(months=count),
        "quarter": relativedelta(months=3 * count),
    }
    return end - steps[unit]


def parse_when(value: str) -> dt.datetime:
    """Parse `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ` (offsets and milliseconds allowed) to naive UTC."""
    value = value.strip()
    if _DATE_RE.match(value):
        return dt.datetime.fromisoformat(value)
    match = _DATETIME_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
    zone = match.group(5)
    if zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    text = value[: match.start(5)] + ("+00:00" if zone == "Z" else zone)
    parsed = dt.datetime.fromisoformat(text)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def format_when(value: dt.datetime) -> str:
    """A naive UTC datetime as `YYYY-MM-DDTHH:MM:SSZ`."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
