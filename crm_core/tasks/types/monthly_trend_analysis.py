"""monthly_trend_analysis (analyst): the month with the most cases about a product in a period."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from sqlalchemy import Connection

from crm_core.periods import MONTHS, parse_when
from crm_core.tasks import query_oracle as q
from crm_core.tasks.daily import DailyTotals
from crm_core.tasks.reference import pick_extreme, product_case_totals
from crm_core.tasks.rules import PRODUCT_CASES
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill, sample_period
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, extreme_id, period_args

PHRASINGS = (
    "In which month were the most cases about the {product} created {period}?",
    "Which month had the highest number of cases for the {product} {period}?",
    "{Period}, in which month did the {product} get the most cases?",
    "Identify the month with the most cases related to the {product} {period}.",
    "When did cases about the {product} peak {period}? Give the month.",
    "Looking at {period_bare}, which month saw the most {product} cases?",
    "Find the busiest month for {product} cases {period}.",
    "For the {product}, which month had the most customer cases {period}?",
    "Our planning team asks: which month had the most {product} cases {period}?",
)

REQUIRED = f"{PRODUCT_CASES}calendar month of CreatedDate. Answer with the full English month name only (e.g. March)."


def month_pieces(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) cut at each first of a month."""
    pieces = []
    while start < end:
        following = dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        pieces.append((start, min(following, end)))
        start = following
    return pieces


def monthly_trend(
    conn: Connection, start: dt.datetime, end: dt.datetime, product_id: str, totals: DailyTotals | None = None
) -> str | None:
    """English name of the month with the most such cases (periods shorter than a year).

    `totals` are :func:`product_case_totals` of the whole org, read once by the sampler.
    """
    read = product_case_totals(conn, start, end, product_id) if totals is None else totals
    counts: Counter[str] = Counter()
    for piece_start, piece_end in month_pieces(start, end):
        piece = read.covering(piece_start, piece_end) if totals is None else read.between(piece_start, piece_end)
        for (product, _issue), count in piece.items():
            if product == product_id:
                counts[MONTHS[piece_start.month - 1]] += count
    return pick_extreme({k: float(v) for k, v in counts.items()}, "max")


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return monthly_trend(conn, parse_when(p["start"]), parse_when(p["end"]), p["product_id"])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A period of at most a year and a product with cases."""
    with_cases = sorted({pid for _, pid, _ in view.routing_pairs if pid in view.products})
    trend_periods = ("quarter", "season", "year", "past_months")
    totals = product_case_totals(conn)

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        period = sample_period(rng, trend_periods)
        product = rng.choice(with_cases)
        answer = monthly_trend(conn, period.start, period.end, product, totals)
        if answer is None:
            return None
        query = fill(
            rng.choice(PHRASINGS), period=period.phrase, period_bare=period.bare, product=view.products[product]
        )
        params = {**period.params(), "product_id": product}
        return Draft(query, answer, params, params.get("today"))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """The product's cases in the period, counted per month, the largest."""
    items = s.call("get_order_item_ids_by_product", product_id=p["product_id"])
    if not items:
        return None
    cases = s.call("get_cases", **period_args(p), order_item_ids=items)
    return extreme_id(s, s.call("get_month_to_case_count", cases=cases), "max") if cases else None


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Cases per CALENDAR_MONTH(CreatedDate) on the product's order items, grouped in SOQL."""
    rows = q.soql(
        call,
        f"SELECT CALENDAR_MONTH(CreatedDate) month, COUNT(Id) cases FROM Case "
        f"WHERE OrderItemId__r.Product2Id = '{p['product_id']}' AND {q.between(p)} "
        "GROUP BY CALENDAR_MONTH(CreatedDate)",
    )
    return pick_extreme({MONTHS[row["month"] - 1]: float(row["cases"]) for row in rows}, "max")


def answer_pool(conn: Connection) -> list[str]:
    """The twelve month names."""
    return list(MONTHS)


SPEC = TaskSpec(
    name="monthly_trend_analysis",
    order=50,
    persona="analyst",
    metric="exact_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=answer_pool,
    uses_periods=True,
)
