"""Reference solvers: the ground truth of each task, by the rules of SPEC §6, in plain SQL.

They read the org through SQLAlchemy (not through the agent tools and not from latent
variables, except for the two tasks whose truth is what was planted: policy violations and
knowledge facts). Each returns the answer, or None for "None", and raises
:class:`TiedAnswerError` when the answer is tied, so generation can reject the instance.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from sqlalchemy import Connection, and_, func, or_, select

from crm_core.org.schema import (
    Account,
    Case,
    CaseHistory,
    Contact,
    LatentArticleFact,
    LatentCasePolicy,
    Order,
    OrderItem,
    Product2,
    User,
)
from crm_core.tasks.periods import MONTHS

Extreme = Literal["min", "max"]
OWNER_ASSIGNMENT = "Owner Assignment"
CLOSED = "Closed"
_TOKEN = re.compile(r"[0-9a-z]+")


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


def _seconds(delta: dt.timedelta) -> float:
    return delta.total_seconds()


def _mean(values: list[float]) -> float:
    """The mean, exactly rounded whatever the order of `values` (rows may come in any order)."""
    return math.fsum(values) / len(values)


def handle_time(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    n: int,
    extreme: Extreme,
    handled: Mapping[str, int] | None = None,
) -> str | None:
    """Qualified agent with the lowest / highest mean handle time of never-transferred closed cases."""
    qualified = qualified_agents(conn, start, end, n, handled)
    if not qualified:
        return None
    assignments = (
        select(func.count())
        .where(CaseHistory.CaseId__c == Case.Id, CaseHistory.Field__c == OWNER_ASSIGNMENT)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(Case.OwnerId, Case.CreatedDate, Case.ClosedDate)
        .where(
            Case.CreatedDate >= start,
            Case.CreatedDate < end,
            Case.Status == CLOSED,
            Case.ClosedDate.is_not(None),
            assignments == 1,
        )
        .order_by(Case.Id)
    ).all()
    times: dict[str, list[float]] = defaultdict(list)
    for owner, created, closed in rows:
        if owner in qualified:
            times[owner].append(_seconds(closed - created))
    return pick_extreme({agent: _mean(v) for agent, v in times.items()}, extreme)


def transfer_count(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    n: int,
    extreme: Extreme,
    handled: Mapping[str, int] | None = None,
) -> str | None:
    """Qualified agent with the fewest / most transfers away in [start, end) (zeros count)."""
    qualified = qualified_agents(conn, start, end, n, handled)
    if not qualified:
        return None
    rows = conn.execute(
        select(CaseHistory.OldValue__c, func.count())
        .where(
            CaseHistory.Field__c == OWNER_ASSIGNMENT,
            CaseHistory.OldValue__c.is_not(None),
            CaseHistory.CreatedDate >= start,
            CaseHistory.CreatedDate < end,
        )
        .group_by(CaseHistory.OldValue__c)
        .order_by(CaseHistory.OldValue__c)
    ).all()
    counts = {agent: 0.0 for agent in sorted(qualified)}
    for agent, count in rows:
        if agent in counts:
            counts[agent] = float(count)
    return pick_extreme(counts, extreme)


def _product_case_dates(
    conn: Connection, start: dt.datetime, end: dt.datetime, product_id: str
) -> list[tuple[str | None, dt.datetime]]:
    return [
        (issue, created)
        for issue, created in conn.execute(
            select(Case.IssueId__c, Case.CreatedDate)
            .join(OrderItem, OrderItem.Id == Case.OrderItemId__c)
            .where(OrderItem.Product2Id == product_id, Case.CreatedDate >= start, Case.CreatedDate < end)
            .order_by(Case.Id)
        ).all()
    ]


def top_issue(conn: Connection, start: dt.datetime, end: dt.datetime, product_id: str) -> str | None:
    """The issue most reported on the product's order items by cases created in [start, end)."""
    counts = Counter(issue for issue, _ in _product_case_dates(conn, start, end, product_id) if issue)
    return pick_extreme({k: float(v) for k, v in counts.items()}, "max")


def monthly_trend(conn: Connection, start: dt.datetime, end: dt.datetime, product_id: str) -> str | None:
    """English name of the month with the most such cases (periods shorter than a year)."""
    counts = Counter(MONTHS[created.month - 1] for _, created in _product_case_dates(conn, start, end, product_id))
    return pick_extreme({k: float(v) for k, v in counts.items()}, "max")


def best_region(conn: Connection, start: dt.datetime, end: dt.datetime) -> str | None:
    """Shipping state with the lowest mean closure time of closed cases created in [start, end)."""
    rows = conn.execute(
        select(Account.ShippingState, Case.CreatedDate, Case.ClosedDate)
        .join(Account, Account.Id == Case.AccountId)
        .where(
            Case.CreatedDate >= start,
            Case.CreatedDate < end,
            Case.Status == CLOSED,
            Case.ClosedDate.is_not(None),
            Account.ShippingState.is_not(None),
        )
        .order_by(Case.Id)
    ).all()
    times: dict[str, list[float]] = defaultdict(list)
    for state, created, closed in rows:
        times[state].append(_seconds(closed - created))
    return pick_extreme({state: _mean(v) for state, v in times.items()}, "min")


def _lexicographic_best(keys: Iterable[str], criteria: list[Callable[[str], float]]) -> str | None:
    """Narrow `keys` criterion by criterion (each maximized); ties after the last raise."""
    candidates = list(keys)
    for criterion in criteria:
        if len(candidates) <= 1:
            break
        scores = {key: criterion(key) for key in candidates}
        best = max(scores.values())
        candidates = [key for key in candidates if scores[key] == best]
    if not candidates:
        return None
    if len(candidates) > 1:
        raise TiedAnswerError(f"{len(candidates)} agents tied after every routing rule")
    return candidates[0]


def cases_by_owner(
    conn: Connection, *, closed: bool, issue_id: str | None = None, product_id: str | None = None
) -> Counter[str]:
    """Cases per owner: Closed (or not Closed) ones, optionally of one issue or on one product's order items."""
    statement = select(Case.OwnerId, func.count()).where(Case.Status == CLOSED if closed else Case.Status != CLOSED)
    if issue_id is not None:
        statement = statement.where(Case.IssueId__c == issue_id)
    if product_id is not None:
        statement = statement.join(OrderItem, OrderItem.Id == Case.OrderItemId__c).where(
            OrderItem.Product2Id == product_id
        )
    return Counter(dict(conn.execute(statement.group_by(Case.OwnerId).order_by(Case.OwnerId)).all()))


def route(
    agents: Iterable[str], by_issue: Counter[str], by_product: Counter[str], open_cases: Counter[str]
) -> str | None:
    """The routing policy over precomputed counts (see :func:`case_routing`)."""
    if not by_issue:
        raise TiedAnswerError("no agent has closed a case of this issue")
    return _lexicographic_best(
        sorted(agents), [lambda a: by_issue[a], lambda a: by_product[a], lambda a: -open_cases[a]]
    )


def case_routing(conn: Connection, issue_id: str, product_id: str) -> str | None:
    """Agent with most Closed cases of the issue; tie: most Closed cases on order items of the
    product; tie: fewest cases not Closed."""
    agents = [row[0] for row in conn.execute(select(User.Id).order_by(User.Id)).all()]
    return route(
        agents,
        cases_by_owner(conn, closed=True, issue_id=issue_id),
        cases_by_owner(conn, closed=True, product_id=product_id),
        cases_by_owner(conn, closed=False),
    )


def tokens(text: str | None) -> set[str]:
    """Lower-case alphanumeric tokens of a text (how SOSL splits text into words)."""
    return set(_TOKEN.findall((text or "").lower()))


def products_matching(conn: Connection, term: str) -> set[str]:
    """Products whose Name or Description contains every word of `term` (SOSL's word rule)."""
    wanted = tokens(term)
    rows = conn.execute(select(Product2.Id, Product2.Name, Product2.Description).order_by(Product2.Id)).all()
    return {pid for pid, name, description in rows if wanted <= (tokens(name) | tokens(description))}


def purchased_products(conn: Connection, contact_id: str, purchase_date: dt.date) -> set[str]:
    """Products on Activated orders of the contact's account with EffectiveDate = purchase_date."""
    rows = conn.execute(
        select(OrderItem.Product2Id)
        .join(Order, Order.Id == OrderItem.OrderId)
        .join(Contact, Contact.AccountId == Order.AccountId)
        .where(Contact.Id == contact_id, Order.Status == "Activated", Order.EffectiveDate == purchase_date)
        .order_by(OrderItem.Id)
    ).all()
    return {row[0] for row in rows}


def named_entity(conn: Connection, contact_id: str, purchase_date: dt.date, term: str) -> str | None:
    """The product matching `term` among that day's purchases; None if none; ties raise."""
    matches = sorted(products_matching(conn, term) & purchased_products(conn, contact_id, purchase_date))
    if len(matches) > 1:
        raise TiedAnswerError(f"{len(matches)} purchased products match {term!r}")
    return matches[0] if matches else None


def policy_violation(conn: Connection, case_id: str) -> str | None:
    """The policy article planted as breached in the case (None when the case is compliant)."""
    row = conn.execute(select(LatentCasePolicy.violated_article_id).where(LatentCasePolicy.case_id == case_id)).first()
    if row is None:
        raise LookupError(f"case {case_id} was not sampled for policy compliance")
    return row[0]


def knowledge_answer(conn: Connection, article_id: str, position: int) -> str:
    """The answer the article states to its `position`-th planted question."""
    row = conn.execute(
        select(LatentArticleFact.answer).where(
            LatentArticleFact.article_id == article_id, LatentArticleFact.position == position
        )
    ).first()
    if row is None:
        raise LookupError(f"article {article_id} has no fact {position}")
    return row[0]
