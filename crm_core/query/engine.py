"""Running SOQL and SOSL against an org database: plan caching, execution and error wrapping."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from crm_core.errors import first_line
from crm_core.query.binder import Binder
from crm_core.query.errors import UNKNOWN_EXCEPTION, QueryError, check_statement_length
from crm_core.query.kind import is_sosl
from crm_core.query.parser import parse_soql
from crm_core.query.planner import ChildPlan, Plan, plan_query
from crm_core.query.serializer import query_result, record

CHILD_BATCH = 900  # parent ids per child SELECT (well under SQLite's parameter limit)
T = TypeVar("T")


def utc_today() -> dt.date:
    """Today's date in UTC: the default "today" of relative date literals."""
    return dt.datetime.now(dt.UTC).date()


@lru_cache(maxsize=1024)
def soql_plan(query: str, today: dt.date) -> Plan:
    """Parse, bind and plan a SOQL query (cached per query text and today)."""
    check_statement_length(query, "SOQL")
    return plan_query(Binder(query, today).bind(parse_soql(query)))


@contextlib.contextmanager
def connected(conn: Connection | Engine) -> Iterator[Connection]:
    """A connection: `conn` itself, or a new one from an engine (closed afterwards)."""
    if isinstance(conn, Engine):
        with conn.connect() as connection:
            yield connection
    else:
        yield conn


class _CollectorPause:
    """Pauses Python's cyclic garbage collector while queries run (re-entrant across threads).

    A query's rows and REST records are plain tuples and dicts without cycles, yet thousands of them
    trigger the collector, whose full passes rescan every long-lived object of the process (tens of
    milliseconds in a server or the benchmark): most of a large search's p95. While any query runs
    the collector waits; it resumes, if it was on, when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._resume = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0 and self._resume:
                    gc.enable()


collections_paused = _CollectorPause()


def guarded(action: Callable[[], T]) -> T:
    """Run `action` (with the garbage collector paused); any failure other than a QueryError becomes
    a generic QueryError.

    With ``CRM_QUERY_STRICT=1`` (for debugging and tests) internal failures propagate as they are.
    """
    try:
        with collections_paused():
            return action()
    except QueryError:
        raise
    except DBAPIError as exc:
        if os.environ.get("CRM_QUERY_STRICT") == "1":
            raise
        # The driver's first line says what failed ("no such table: Case", "connection refused");
        # later lines (and SQLAlchemy's wrapper) would show SQL, which users never see.
        reason = first_line(exc) or type(exc.orig).__name__
        raise QueryError(UNKNOWN_EXCEPTION, f"The org database could not run the query: {reason}") from exc
    except Exception as exc:
        if os.environ.get("CRM_QUERY_STRICT") == "1":
            raise
        raise QueryError(
            UNKNOWN_EXCEPTION, f"An unexpected error occurred while running the query ({type(exc).__name__})."
        ) from exc


def execute_plan(connection: Connection, plan: Plan) -> dict:
    """Run a planned SOQL query and shape its rows as the REST API does."""
    rows = connection.execute(plan.statement).all()
    if plan.count_only:
        total = max(0, (rows[0][0] if rows else 0) - plan.count_offset)
        return query_result([], total if plan.count_limit is None else min(total, plan.count_limit))
    if plan.aggregate:
        records = []
        for row in rows:
            item: dict = {"attributes": {"type": "AggregateResult"}}
            for name, index, convert in plan.columns:
                value = row[index]
                item[name] = convert(value) if convert is not None and value is not None else value
            records.append(item)
        return query_result(records)
    assert plan.layout is not None
    children = [_child_results(connection, child, rows) for child in plan.children] if plan.children else None
    layout = plan.layout
    return query_result([record(row, layout, children) for row in rows])


def _child_results(connection: Connection, child: ChildPlan, rows: list) -> dict:
    """parent Id -> the child subquery's result for the parents of `rows` (Id first in each row),
    with the child's own child subqueries nested in its records."""
    parent_ids = list(dict.fromkeys(row[0] for row in rows))
    grouped: dict[str, list] = {}
    for start in range(0, len(parent_ids), CHILD_BATCH):
        batch = parent_ids[start : start + CHILD_BATCH]
        for row in connection.execute(child.statement, {"parent_ids": batch}):
            kept = grouped.setdefault(row[child.parent_index], [])
            if child.limit is None or len(kept) < child.limit:
                kept.append(row)
    nested = None
    if child.children:
        kept_rows = [row for kept in grouped.values() for row in kept]
        nested = [_child_results(connection, grandchild, kept_rows) for grandchild in child.children]
    return {key: query_result([record(row, child.layout, nested) for row in kept]) for key, kept in grouped.items()}


def run_soql(conn: Connection | Engine, query: str, *, today: dt.date | None = None) -> dict:
    """Run a SOQL query; return ``{"totalSize", "done", "records"}`` or raise :class:`QueryError`."""
    day = today or utc_today()

    def action() -> dict:
        plan = soql_plan(query, day)
        with connected(conn) as connection:
            return execute_plan(connection, plan)

    return guarded(action)


def run_query(conn: Connection | Engine, text: str, *, today: dt.date | None = None) -> dict:
    """Run SOSL when `text` starts with FIND (case-insensitive), else SOQL."""
    if is_sosl(text):
        from crm_core.query.sosl import run_sosl

        return run_sosl(conn, text, today=today)
    return run_soql(conn, text, today=today)
