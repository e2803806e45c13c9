"""handle_time (manager): the qualified agent with the lowest or highest mean handle time in a period."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from crm_core.org.schema import Case, CaseHistory
from crm_core.periods import parse_when
from crm_core.tasks import query_oracle as q
from crm_core.tasks.daily import DailyTotals, day_of, seconds_between
from crm_core.tasks.reference import (
    CLOSED,
    OWNER_ASSIGNMENT,
    Extreme,
    pick_extreme,
    qualified_agents,
)
from crm_core.tasks.rules import HANDLED, ID_ANSWER, NONE_ANSWER
from crm_core.tasks.sampling import OrgView, Sampler, staff_sampler, user_ids
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, extreme_id, period_args, qualified_agent_ids

PHRASINGS = (
    "Which agent had the {adj} average handle time {period}, counting only agents who handled more than {n} cases?",
    "Among agents who handled more than {n} cases {period}, who had the {adj} average handle time?",
    "I need the agent with the {adj} average case handle time {period}. Only include agents with more than "
    "{n} handled cases.",
    "{Period}, which agent showed the {adj} mean handle time? Ignore agents who handled {n} cases or fewer.",
    "Find the agent whose average handle time was the {adj} {period}, considering agents that handled over {n} cases.",
    "Who is the agent with the {adj} average handle time {period} (only agents with more than {n} cases handled)?",
    "Looking at {period_bare}, identify the agent with the {adj} average time to handle a case, among "
    "those who handled more than {n} cases.",
    "For the team review: which agent had the {adj} average handle time {period}? Agents need more than "
    "{n} handled cases to count.",
    "Report the agent with the {adj} average handle time {period}, limited to agents who handled more than {n} cases.",
)
ADJECTIVES = {
    "min": ("lowest", "shortest", "quickest", "fastest"),
    "max": ("highest", "longest", "slowest"),
}

REQUIRED = (
    f"{HANDLED} Handle time of a case = ClosedDate - CreatedDate. Consider only cases created in the period "
    "with Status 'Closed' that were never transferred (exactly one Owner Assignment in their whole history) "
    "and are owned by a qualified agent; compare the agents' mean handle times. "
    f"{ID_ANSWER} {NONE_ANSWER.format(what='case')}"
)


def single_assignment_totals(
    conn: Connection, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> tuple[DailyTotals, DailyTotals]:
    """(handle seconds, cases) per owner and creation day of the closed, never-transferred cases,
    optionally of those created in [start, end)."""
    single = (
        select(CaseHistory.CaseId__c)
        .where(CaseHistory.Field__c == OWNER_ASSIGNMENT)
        .group_by(CaseHistory.CaseId__c)
        .having(func.count() == 1)
    )
    created = day_of(Case.CreatedDate)
    statement = (
        select(Case.OwnerId, created, func.sum(seconds_between(conn, Case.CreatedDate, Case.ClosedDate)), func.count())
        .where(Case.Status == CLOSED, Case.ClosedDate.is_not(None), Case.Id.in_(single))
        .group_by(Case.OwnerId, created)
    )
    if start is not None and end is not None:
        statement = statement.where(Case.CreatedDate >= start, Case.CreatedDate < end)
    rows = conn.execute(statement).all()
    return (
        DailyTotals((owner, day, total) for owner, day, total, _ in rows),
        DailyTotals((owner, day, count) for owner, day, _, count in rows),
    )


def handle_time(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    n: int,
    extreme: Extreme,
    handled: Mapping[str, int] | None = None,
    totals: tuple[DailyTotals, DailyTotals] | None = None,
) -> str | None:
    """Qualified agent with the lowest / highest mean handle time of never-transferred closed cases.

    `handled` are the period's :func:`handled_counts` and `totals` the org's
    :func:`single_assignment_totals`, both read once by the sampler.
    """
    qualified = qualified_agents(conn, start, end, n, handled)
    if not qualified:
        return None
    if totals is None:
        seconds, counts = single_assignment_totals(conn, start, end)
        sums, cases = seconds.covering(start, end), counts.covering(start, end)
    else:
        sums, cases = totals[0].between(start, end), totals[1].between(start, end)
    means = {owner: sums.get(owner, 0) / count for owner, count in cases.items() if owner in qualified}
    return pick_extreme(means, extreme)


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return handle_time(conn, parse_when(p["start"]), parse_when(p["end"]), p["n"], p["extreme"])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A period, an extreme and n (see :func:`crm_core.tasks.sampling.staff_sampler`)."""
    totals = single_assignment_totals(conn)

    def solve(start: dt.datetime, end: dt.datetime, n: int, extreme: Extreme, handled: Mapping[str, int]) -> str | None:
        return handle_time(conn, start, end, n, extreme, handled, totals)

    return staff_sampler(conn, solve, PHRASINGS, ADJECTIVES, "adj")


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Qualified agents, their never-transferred closed cases, mean handle times, the extreme."""
    qualified = qualified_agent_ids(s, p)
    if not qualified:
        return None
    never_transferred = s.call("get_non_transferred_case_ids", **period_args(p))
    if not never_transferred:
        return None
    cases = s.call("get_cases", **period_args(p), agent_ids=qualified, case_ids=never_transferred, statuses=["Closed"])
    if not cases:
        return None
    return extreme_id(s, s.call("calculate_average_handle_time", cases=cases), p["extreme"])


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Closed cases of qualified agents, kept when they have one Owner Assignment, mean per owner."""
    qualified = q.qualified_agents(call, p)
    if not qualified:
        return None
    cases = q.soql(
        call,
        f"SELECT Id, OwnerId, CreatedDate, ClosedDate FROM Case WHERE {q.between(p)} AND Status = 'Closed' "
        f"AND OwnerId IN {q.in_list(qualified)} ORDER BY Id",
    )
    if not cases:
        return None
    counts = q.soql_in(
        call,
        lambda ids: (
            f"SELECT CaseId__c, COUNT(Id) assignments FROM CaseHistory__c WHERE {q.ASSIGNMENT} "
            f"AND CaseId__c IN {ids} GROUP BY CaseId__c"
        ),
        {c["Id"] for c in cases},
    )
    single = {row["CaseId__c"] for row in counts if row["assignments"] == 1}
    kept = [case for case in cases if case["Id"] in single]
    return pick_extreme(q.mean_seconds(kept, lambda case: case["OwnerId"]), p["extreme"])


SPEC = TaskSpec(
    name="handle_time",
    order=20,
    persona="manager",
    metric="exact_match",
    phrasings=PHRASINGS,
    required=REQUIRED,
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=user_ids,
    allows_none=True,
    uses_periods=True,
)
