"""best_region_identification (analyst): the state with the quickest mean case closure in a period."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import Connection, func, select

from crm_core.org.schema import Account, Case
from crm_core.periods import parse_when
from crm_core.tasks import query_oracle as q
from crm_core.tasks.daily import DailyTotals, day_of, seconds_between
from crm_core.tasks.reference import CLOSED, pick_extreme
from crm_core.tasks.sampling import Draft, OrgView, Sampler, distinct_values, fill, sample_period
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, extreme_id, period_args

PHRASINGS = (
    "Which state had the quickest average case closure {period}?",
    "{Period}, in which state were cases closed fastest on average?",
    "Identify the state with the shortest average time to close a case {period}.",
    "Which region (state) had the lowest average case closure time {period}?",
    "Looking at {period_bare}, which state closed its cases most quickly on average?",
    "Find the state where cases were resolved fastest on average {period}.",
    "What state had the best average closure time for cases {period}?",
    "Where did we close cases fastest {period}? Give the state.",
    "For the regional review: which state had the quickest mean case closure {period}?",
)

REQUIRED = (
    "Consider the cases created in the period with Status 'Closed'. A case's region is the ShippingState of "
    "its Account; closure time = ClosedDate - CreatedDate. The best region has the lowest mean closure "
    "time. Answer with the two-letter state code only."
)


def closure_totals(
    conn: Connection, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> tuple[DailyTotals, DailyTotals]:
    """(closure seconds, closed cases) per ShippingState and creation day, optionally of [start, end)."""
    created = day_of(Case.CreatedDate)
    statement = (
        select(
            Account.ShippingState,
            created,
            func.sum(seconds_between(conn, Case.CreatedDate, Case.ClosedDate)),
            func.count(),
        )
        .join(Account, Account.Id == Case.AccountId)
        .where(Case.Status == CLOSED, Case.ClosedDate.is_not(None), Account.ShippingState.is_not(None))
        .group_by(Account.ShippingState, created)
    )
    if start is not None and end is not None:
        statement = statement.where(Case.CreatedDate >= start, Case.CreatedDate < end)
    rows = conn.execute(statement).all()
    return (
        DailyTotals((state, day, total) for state, day, total, _ in rows),
        DailyTotals((state, day, count) for state, day, _, count in rows),
    )


def best_region(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    totals: tuple[DailyTotals, DailyTotals] | None = None,
) -> str | None:
    """Shipping state with the lowest mean closure time of closed cases created in [start, end).

    `totals` are :func:`closure_totals` of the whole org, read once by the sampler; without them
    only the period is read.
    """
    if totals is None:
        seconds, counts = closure_totals(conn, start, end)
        sums, cases = seconds.covering(start, end), counts.covering(start, end)
    else:
        sums, cases = totals[0].between(start, end), totals[1].between(start, end)
    means = {state: sums.get(state, 0) / count for state, count in cases.items()}
    return pick_extreme(means, "min")


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return best_region(conn, parse_when(p["start"]), parse_when(p["end"]))


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A period with closed cases."""
    totals = closure_totals(conn)

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        period = sample_period(rng, ("month", "quarter", "season", "year", "past_months"))
        answer = best_region(conn, period.start, period.end, totals)
        if answer is None:
            return None
        query = fill(rng.choice(PHRASINGS), period=period.phrase, period_bare=period.bare)
        params = period.params()
        return Draft(query, answer, params, params.get("today"))

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Closed cases of the period, their states, mean closure per state, the lowest."""
    cases = s.call("get_cases", **period_args(p), statuses=["Closed"])
    if not cases:
        return None
    with_states = s.call("get_shipping_state", cases=cases)
    return extreme_id(s, s.call("calculate_region_average_closure_times", cases=with_states), "min")


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Closed cases of the period with their Account's state, mean closure per state."""
    rows = q.soql(
        call,
        f"SELECT Account.ShippingState, CreatedDate, ClosedDate FROM Case WHERE Status = 'Closed' AND "
        f"{q.between(p)} ORDER BY Id",
    )
    return pick_extreme(q.mean_seconds(rows, lambda row: (row.get("Account") or {}).get("ShippingState")), "min")


def answer_pool(conn: Connection) -> list[str]:
    """Every Account ShippingState."""
    return distinct_values(conn, select(Account.ShippingState))


SPEC = TaskSpec(
    name="best_region_identification",
    order=60,
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
