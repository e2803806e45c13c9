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

from sqlalchemy import Connection, and_, func, or_, select

from crm_core.org.schema import Case, CaseHistory, OrderItem

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


def handled_counts(conn: Connection, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Cases per agent whose first Owner Assignment falls in [start, end) and names the agent."""
    h = CaseHistory.__table__.alias("h")
    earlier = CaseHistory.__table__.alias("earlier")
    has_earlier = (
        select(earlier.c.Id)
        .where(
            earlier.c.CaseId__c == h.c.CaseId__c,
            earlier.c.Field__c == OWNER_ASSIGNMENT,
            or_(
                earlier.c.CreatedDate < h.c.CreatedDate,
                and_(earlier.c.CreatedDate == h.c.CreatedDate, earlier.c.Id < h.c.Id),
            ),
        )
        .exists()
    )
    rows = conn.execute(
        select(h.c.NewValue__c, func.count())
        .where(h.c.Field__c == OWNER_ASSIGNMENT, h.c.CreatedDate >= start, h.c.CreatedDate < end, ~has_earlier)
        .group_by(h.c.NewValue__c)
        .order_by(h.c.NewValue__c)
    ).all()
    return {agent: count for agent, count in rows if agent is not None}


def qualified_agents(
    conn: Connection, start: dt.datetime, end: dt.datetime, n: int, handled: Mapping[str, int] | None = None
) -> set[str]:
    """Agents that handled more than `n` cases in [start, end) (`handled`: precomputed counts)."""
    counts = handled_counts(conn, start, end) if handled is None else handled
    return {agent for agent, count in counts.items() if count > n}


def mean(values: list[float]) -> float:
    """The mean, exactly rounded whatever the order of `values` (rows may come in any order)."""
    return math.fsum(values) / len(values)


def product_case_dates(
    conn: Connection, start: dt.datetime, end: dt.datetime, product_id: str
) -> list[tuple[str | None, dt.datetime]]:
    """(IssueId__c, CreatedDate) of the cases created in [start, end) on the product's order items."""
    return [
        (issue, created)
        for issue, created in conn.execute(
            select(Case.IssueId__c, Case.CreatedDate)
            .join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
            .where(OrderItem.Product2Id == product_id, Case.CreatedDate >= start, Case.CreatedDate < end)
            .order_by(Case.Id)
        ).all()
    ]
