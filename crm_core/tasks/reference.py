"""Ground-truth helpers shared by the task types' reference solvers, in plain SQL.

Reference solvers read the org through SQLAlchemy (not through the agent tools and not from latent
variables, except for the two tasks whose truth is what was planted: policy violations and
knowledge facts). Each returns the answer, or None for "None", and raises
:class:`TiedAnswerError` when the answer is tied, so generation can reject the instance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Literal

from sqlalchemy import Connection, func, select

from crm_core.org.schema import Case, CaseHistory, OrderItem
from crm_core.tasks.daily import DailyTotals, day_of

Extreme = Literal["min", "max"]
OWNER_ASSIGNMENT = "Owner Assignment"
CLOSED = "Closed"


class TiedAnswerError(Exception):
    """The rule gives more than one answer (a tie); generation rejects such instances."""


def pick_extreme(values: Mapping[str, float], extreme: Extreme) -> str | None:
    """The key with the lowest ("min") or highest ("max") value; None if empty; ties raise.

    Values closer than a relative 1e-9 count as tied, so float rounding in a different
    computation path (seconds vs minutes) can never decide an answer.
    """
    if not values:
        return None
    best = min(values.values()) if extreme == "min" else max(values.values())
    tolerance = 1e-9 * max(1.0, abs(best))
    winners = sorted(key for key, value in values.items() if abs(value - best) <= tolerance)
    if len(winners) > 1:
        raise TiedAnswerError(f"{len(winners)} tied at {best}")
    return winners[0]


def first_assignment_totals(
    conn: Connection, before: dt.datetime | None = None, since: dt.datetime | None = None
) -> DailyTotals:
    """Cases per agent by the day of the case's first Owner Assignment (ties by CreatedDate go by Id).

    With `before` and `since`, only first assignments in [since, before) are read.
    """
    order = func.row_number().over(
        partition_by=CaseHistory.CaseId__c, order_by=(CaseHistory.CreatedDate, CaseHistory.Id)
    )
    assignments = select(
        CaseHistory.NewValue__c.label("agent"), CaseHistory.CreatedDate.label("created"), order.label("rank")
    ).where(CaseHistory.Field__c == OWNER_ASSIGNMENT)
    if before is not None:
        assignments = assignments.where(CaseHistory.CreatedDate < before)
    ranked = assignments.subquery()
    day = day_of(ranked.c.created)
    rows = conn.execute(
        select(ranked.c.agent, day, func.count())
        .where(ranked.c.rank == 1, ranked.c.agent.is_not(None), *([ranked.c.created >= since] if since else []))
        .group_by(ranked.c.agent, day)
    )
    return DailyTotals(rows)


def handled_counts(
    conn: Connection, start: dt.datetime, end: dt.datetime, totals: DailyTotals | None = None
) -> dict[str, int]:
    """Cases per agent whose first Owner Assignment falls in [start, end) and names the agent.

    `totals` are :func:`first_assignment_totals`, read once by a sampler.
    """
    if totals is None:
        firsts = first_assignment_totals(conn, before=end, since=start).covering(start, end)
    else:
        firsts = totals.between(start, end)
    return dict(sorted(firsts.items()))


def qualified_agents(
    conn: Connection, start: dt.datetime, end: dt.datetime, n: int, handled: Mapping[str, int] | None = None
) -> set[str]:
    """Agents that handled more than `n` cases in [start, end) (`handled`: precomputed counts)."""
    counts = handled_counts(conn, start, end) if handled is None else handled
    return {agent for agent, count in counts.items() if count > n}


def mean(values: list[float]) -> float:
    """The mean, exactly rounded whatever the order of `values` (rows may come in any order)."""
    return math.fsum(values) / len(values)


def product_case_totals(
    conn: Connection, start: dt.datetime | None = None, end: dt.datetime | None = None, product_id: str | None = None
) -> DailyTotals:
    """Cases per (Product2Id, IssueId__c) of their order item and creation day.

    Optionally only the cases created in [start, end) and on one product's order items.
    """
    created = day_of(Case.CreatedDate)
    statement = (
        select(OrderItem.Product2Id, Case.IssueId__c, created, func.count())
        .join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
        .group_by(OrderItem.Product2Id, Case.IssueId__c, created)
    )
    if start is not None and end is not None:
        statement = statement.where(Case.CreatedDate >= start, Case.CreatedDate < end)
    if product_id is not None:
        statement = statement.where(OrderItem.Product2Id == product_id)
    return DailyTotals(((product, issue), day, count) for product, issue, day, count in conn.execute(statement))
