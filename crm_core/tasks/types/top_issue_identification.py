"""top_issue_identification (analyst): the issue most reported for a product in a period."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Issue
from crm_core.periods import parse_when
from crm_core.tasks import query_oracle as q
from crm_core.tasks.daily import DailyTotals
from crm_core.tasks.reference import pick_extreme, product_case_totals
from crm_core.tasks.rules import NONE_ANSWER, PRODUCT_CASES
from crm_core.tasks.sampling import Draft, OrgView, Sampler, distinct_values, fill, sample_period
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, extreme_id, period_args

PHRASINGS = (
    "What was the most reported issue for the {product} {period}?",
    "Which issue came up most often in cases about the {product} {period}?",
    "{Period}, what was the top issue reported for the {product}?",
    "Identify the most common issue customers reported with the {product} {period}.",
    "For the {product}, which issue had the most cases {period}?",
    "What problem did customers report most for the {product} {period}?",
    "Looking at {period_bare}, which issue was reported most for the {product}?",
    "Find the issue with the highest number of cases for the {product} {period}.",
    "Our quality team asks: what was the leading issue for the {product} {period}?",
)

REQUIRED = (
    f"{PRODUCT_CASES}IssueId__c; the most reported issue has the largest count. Answer with the Issue__c Id only. "
    f"{NONE_ANSWER.format(what='case')}"
)


def top_issue(
    conn: Connection, start: dt.datetime, end: dt.datetime, product_id: str, totals: DailyTotals | None = None
) -> str | None:
    """The issue most reported on the product's order items by cases created in [start, end).

    `totals` are :func:`product_case_totals` of the whole org, read once by the sampler.
    """
    if totals is None:
        period = product_case_totals(conn, start, end, product_id).covering(start, end)
    else:
        period = totals.between(start, end)
    counts = {issue: count for (product, issue), count in period.items() if product == product_id}
    return pick_extreme({issue: float(count) for issue, count in counts.items() if issue}, "max")


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return top_issue(conn, parse_when(p["start"]), parse_when(p["end"]), p["product_id"])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A long period and a product with cases; for None, a short period and any product."""
    product_ids = sorted(view.products)
    with_cases = sorted({pid for _, pid, _ in view.routing_pairs if pid in view.products})
    long_periods = ("quarter", "season", "year", "past_months", "past_quarters")
    totals = product_case_totals(conn)

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        period = sample_period(rng, ("month", "past_weeks") if want_none else long_periods)
        product = rng.choice(product_ids if want_none else with_cases)
        answer = top_issue(conn, period.start, period.end, product, totals)
        query = fill(
            rng.choice(PHRASINGS), period=period.phrase, period_bare=period.bare, product=view.products[product]
        )
        params = {**period.params(), "product_id": product}
        return Draft(query, answer, params, params.get("today"))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """The product's order items, issue counts over them, the largest."""
    items = s.call("get_order_item_ids_by_product", product_id=p["product_id"])
    if not items:
        return None
    return extreme_id(s, s.call("get_issue_counts", **period_args(p), order_item_ids=items), "max")


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Cases per IssueId__c on the product's order items, grouped in SOQL."""
    rows = q.soql(
        call,
        f"SELECT IssueId__c, COUNT(Id) cases FROM Case WHERE OrderItemId__r.Product2Id = '{p['product_id']}' "
        f"AND {q.between(p)} AND IssueId__c != null GROUP BY IssueId__c ORDER BY COUNT(Id) DESC",
    )
    return pick_extreme({row["IssueId__c"]: float(row["cases"]) for row in rows}, "max")


def answer_pool(conn: Connection) -> list[str]:
    """Every Issue__c Id."""
    return distinct_values(conn, select(Issue.Id))


SPEC = TaskSpec(
    name="top_issue_identification",
    order=40,
    persona="analyst",
    metric="exact_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=answer_pool,
    allows_none=True,
    uses_periods=True,
)
