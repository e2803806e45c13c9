"""transfer_count (manager): the qualified agent who transferred the fewest or most cases in a period."""

# ruff: noqa: S608 - the query solver's strings are SOQL sent to `issue_soql_query`, whose engine
# binds every literal as a parameter; none of them is SQL.

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from crm_core.org.schema import CaseHistory
from crm_core.periods import parse_when
from crm_core.tasks import query_oracle as q
from crm_core.tasks.daily import DailyTotals, day_of
from crm_core.tasks.reference import OWNER_ASSIGNMENT, Extreme, pick_extreme, qualified_agents
from crm_core.tasks.rules import HANDLED, ID_ANSWER, NONE_ANSWER
from crm_core.tasks.sampling import OrgView, Sampler, staff_sampler, user_ids
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, extreme_id, period_args, qualified_agent_ids

PHRASINGS = (
    "Which agent transferred the {most} cases {period}, among agents who handled more than {n} cases?",
    "Among agents who handled more than {n} cases {period}, who made the {most} case transfers?",
    "Identify the agent with the {most} transfers {period}. Only agents with more than {n} handled cases count.",
    "{Period}, which agent passed the {most} cases on to other agents? Consider agents who handled over {n} cases.",
    "Who had the {most} case transfers {period}, counting only agents that handled more than {n} cases?",
    "Find the agent who gave away the {most} cases {period} (agents with more than {n} handled cases only).",
    "Looking at {period_bare}, which agent had the {most} transferred cases among those who handled more than {n}?",
    "For the staffing review: the agent with the {most} transfers {period}, among agents handling more than {n} cases?",
    "Report the agent who transferred the {most} cases {period}; ignore agents who handled {n} cases or fewer.",
)
MOST = {"min": ("fewest",), "max": ("most",)}

REQUIRED = (
    f"{HANDLED} A transfer is an Owner Assignment record created in the period with OldValue__c set; it "
    "counts for the agent in OldValue__c (the agent who gave the case away). Every qualified agent has a "
    f"transfer count, zero included. {ID_ANSWER} {NONE_ANSWER.format(what='qualified agent')}"
)


def transfer_totals(conn: Connection, start: dt.datetime | None = None, end: dt.datetime | None = None) -> DailyTotals:
    """Owner Assignments away from each agent (OldValue__c) per day, optionally of [start, end)."""
    day = day_of(CaseHistory.CreatedDate)
    statement = (
        select(CaseHistory.OldValue__c, day, func.count())
        .where(CaseHistory.Field__c == OWNER_ASSIGNMENT, CaseHistory.OldValue__c.is_not(None))
        .group_by(CaseHistory.OldValue__c, day)
    )
    if start is not None and end is not None:
        statement = statement.where(CaseHistory.CreatedDate >= start, CaseHistory.CreatedDate < end)
    return DailyTotals(conn.execute(statement))


def transfer_count(
    conn: Connection,
    start: dt.datetime,
    end: dt.datetime,
    n: int,
    extreme: Extreme,
    handled: Mapping[str, int] | None = None,
    totals: DailyTotals | None = None,
) -> str | None:
    """Qualified agent with the fewest / most transfers away in [start, end) (zeros count).

    `handled` are the period's :func:`handled_counts` and `totals` the org's :func:`transfer_totals`,
    both read once by the sampler.
    """
    qualified = qualified_agents(conn, start, end, n, handled)
    if not qualified:
        return None
    read = transfer_totals(conn, start, end) if totals is None else totals
    transfers = read.covering(start, end) if totals is None else read.between(start, end)
    return pick_extreme({agent: float(transfers.get(agent, 0)) for agent in sorted(qualified)}, extreme)


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    """The ground truth of an instance's params."""
    return transfer_count(conn, parse_when(p["start"]), parse_when(p["end"]), p["n"], p["extreme"])


def sampler(conn: Connection, view: OrgView) -> Sampler:
    """A period, an extreme and n (see :func:`crm_core.tasks.sampling.staff_sampler`)."""
    totals = transfer_totals(conn)

    def solve(start: dt.datetime, end: dt.datetime, n: int, extreme: Extreme, handled: Mapping[str, int]) -> str | None:
        return transfer_count(conn, start, end, n, extreme, handled, totals)

    return staff_sampler(conn, solve, PHRASINGS, MOST, "most")


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    """Qualified agents, their transfer counts, the extreme."""
    qualified = qualified_agent_ids(s, p)
    if not qualified:
        return None
    counts = s.call("get_agent_transferred_cases_by_period", **period_args(p), qualified_agent_ids=qualified)
    return extreme_id(s, counts, p["extreme"])


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    """Qualified agents and the transfers per OldValue__c, zero for the agents without any."""
    qualified = q.qualified_agents(call, p)
    if not qualified:
        return None
    rows = q.soql(
        call,
        f"SELECT OldValue__c, COUNT(Id) transfers FROM CaseHistory__c WHERE {q.ASSIGNMENT} AND OldValue__c != null "
        f"AND {q.between(p)} GROUP BY OldValue__c",
    )
    counts = {agent: 0.0 for agent in sorted(qualified)}
    for row in rows:
        if row["OldValue__c"] in counts:
            counts[row["OldValue__c"]] = float(row["transfers"])
    return pick_extreme(counts, p["extreme"])


SPEC = TaskSpec(
    name="transfer_count",
    order=30,
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
