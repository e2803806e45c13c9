"""Daily totals: per-key sums of each day, read once in SQL, answering any whole-day period.

The samplers of the period tasks try many candidate periods per kept instance. Asking the org
once per candidate costs what the org holds (a scan of the period's cases each time, minutes at
``xl``); reading ``key × day → total`` once with ``GROUP BY`` and summing cumulative arrays costs
what the answer needs. Every value is an integer (counts, whole seconds), so a period's totals are
exact and equal, to the bit, what summing the period's rows would give.

Periods must start and end at midnight (all sampled periods do): :meth:`DailyTotals.between`
refuses other bounds rather than answer approximately. Totals read from one period's rows only
are summed with :meth:`DailyTotals.covering`, which takes any bounds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Connection, Integer, cast, func
from sqlalchemy.sql import ColumnElement


class DailyTotals:
    """``key → day → integer`` totals with period sums from cumulative arrays."""

    def __init__(self, rows: Iterable[tuple[Hashable, Any, int]]) -> None:
        """`rows` are ``(key, day, value)``; `day` a date, datetime or ISO string; repeats add up."""
        cells: dict[tuple[Hashable, dt.date], int] = {}
        for key, day, value in rows:
            cell = (key, _as_date(day))
            cells[cell] = cells.get(cell, 0) + int(value)
        self.keys: list[Hashable] = sorted({key for key, _ in cells}, key=_sort_key)
        days = [day for _, day in cells]
        self.first = min(days) if days else dt.date(2000, 1, 1)
        width = (max(days) - self.first).days + 1 if days else 0
        index = {key: i for i, key in enumerate(self.keys)}
        grid = np.zeros((len(self.keys), width + 1), dtype=np.int64)
        for (key, day), value in cells.items():
            grid[index[key], (day - self.first).days + 1] += value
        self._cumulative = np.cumsum(grid, axis=1)
        self._width = width

    def covering(self, start: dt.datetime, end: dt.datetime) -> dict[Hashable, int]:
        """Totals of every day that [start, end) touches: for totals read from that period only."""
        first = dt.datetime.combine(start.date(), dt.time(0))
        last = dt.datetime.combine(end.date(), dt.time(0))
        return self.between(first, last if last == end else last + dt.timedelta(days=1))

    def between(self, start: dt.datetime, end: dt.datetime) -> dict[Hashable, int]:
        """Totals of the days in [start, end) per key, keys with a zero total left out."""
        for bound in (start, end):
            if bound.time() != dt.time(0):
                raise ValueError(f"daily totals need midnight bounds, got {bound.isoformat()}")
        low = min(max((start.date() - self.first).days, 0), self._width)
        high = min(max((end.date() - self.first).days, 0), self._width)
        if high <= low:
            return {}
        sums = self._cumulative[:, high] - self._cumulative[:, low]
        return {self.keys[i]: int(sums[i]) for i in np.flatnonzero(sums)}


def day_of(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The calendar day of a datetime column, in SQL (``date()`` on SQLite and PostgreSQL)."""
    return func.date(column)


def seconds_between(conn: Connection, start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[int]:
    """Whole seconds from `start` to `end`, in SQL, exact on both dialects."""
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), BigInteger)
    return cast(func.round((func.julianday(end) - func.julianday(start)) * 86400), Integer)


def _as_date(day: Any) -> dt.date:
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    return dt.date.fromisoformat(str(day)[:10])


def _sort_key(key: Hashable) -> tuple[str, ...]:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple("" if part is None else str(part) for part in parts)
