"""Case tools: cases by filter, case counts per agent, handle times, transfers, issues and months."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from crm_core.org.schema import CASE_STATUSES
from crm_core.periods import MONTHS
from crm_core.tools.base import (
    DATE_HELP,
    ToolArgumentError,
    ToolContext,
    case_records_arg,
    date_arg,
    id_arg,
    id_list_arg,
    mean_durations,
    period_args,
    record_datetime,
    soql_datetime,
    soql_in,
    soql_in_chunks,
    soql_records,
    soql_records_in,
    tool,
)

CASE_FIELDS = "Id, OwnerId, AccountId, Status, CreatedDate, ClosedDate"
_ID_LIST = {"type": "array", "items": {"type": "string"}}
_RECORDS = {"type": "array", "items": {"type": "object"}}
_PERIOD = {
    "start_date": {"type": "string", "description": f"Start of the period (included): {DATE_HELP}."},
    "end_date": {"type": "string", "description": f"End of the period (excluded): {DATE_HELP}."},
}
_ASSIGNMENT = "Field__c = 'Owner Assignment'"


def _period_filter(field: str, start_date: str, end_date: str) -> str:
    start, end = period_args(start_date, end_date)
    return f"{field} >= {soql_datetime(start)} AND {field} < {soql_datetime(end)}"


@tool(
    "get_cases",
    "Cases matching all the given filters (at least one), created in [start_date, end_date) when a period is "
    "given. Returns records with Id, OwnerId, AccountId, Status, CreatedDate, ClosedDate.",
    {
        "start_date": {"type": "string", "description": f"Cases created at or after: {DATE_HELP}."},
        "end_date": {"type": "string", "description": f"Cases created before: {DATE_HELP}."},
        "agent_ids": {**_ID_LIST, "description": "Owner user ids."},
        "case_ids": {**_ID_LIST, "description": "Case ids."},
        "order_item_ids": {**_ID_LIST, "description": "Order item ids (OrderItemId__c)."},
        "issue_ids": {**_ID_LIST, "description": "Issue ids (IssueId__c)."},
        "statuses": {
            "type": "array",
            "items": {"type": "string", "enum": list(CASE_STATUSES)},
            "description": "Case statuses.",
        },
    },
)
def get_cases(
    ctx: ToolContext,
    start_date: str | None = None,
    end_date: str | None = None,
    agent_ids: list[str] | None = None,
    case_ids: list[str] | None = None,
    order_item_ids: list[str] | None = None,
    issue_ids: list[str] | None = None,
    statuses: list[str] | None = None,
) -> list[dict[str, Any]]:
    conditions = []
    if start_date is not None:
        conditions.append(f"CreatedDate >= {soql_datetime(date_arg('start_date', start_date))}")
    if end_date is not None:
        conditions.append(f"CreatedDate < {soql_datetime(date_arg('end_date', end_date))}")
    id_lists: list[list[str]] = []
    for name, values, field, obj in (
        ("agent_ids", agent_ids, "OwnerId", "User"),
        ("case_ids", case_ids, "Id", "Case"),
        ("order_item_ids", order_item_ids, "OrderItemId__c", "OrderItem"),
        ("issue_ids", issue_ids, "IssueId__c", "Issue__c"),
    ):
        if values is not None:
            if not values:
                return []  # an empty filter list matches nothing
            id_lists.append([f"{field} IN {chunk}" for chunk in soql_in_chunks(id_list_arg(name, values, obj))])
    if statuses is not None:
        if not statuses:
            return []
        conditions.append(f"Status IN {soql_in(statuses)}")
    if not conditions and not id_lists:
        raise ToolArgumentError("give at least one filter: a period, agent_ids, case_ids, order_item_ids, ...")
    queries = [" AND ".join([*conditions, *pieces]) for pieces in itertools.product(*id_lists)]
    records = [
        record for where in queries for record in soql_records(ctx, CASE_FIELDS, "Case", where, "CreatedDate, Id")
    ]
    if len(queries) > 1:  # long id lists went in pieces: one order over all of them
        records.sort(key=lambda record: (record["CreatedDate"], record["Id"]))
    return records


def _first_assignments(ctx: ToolContext, start_date: str, end_date: str) -> dict[str, str]:
    """Case id -> agent of the case's first Owner Assignment, for first assignments in the period."""
    rows = soql_records(
        ctx,
        "CaseId__c, NewValue__c, CreatedDate",
        "CaseHistory__c",
        f"{_ASSIGNMENT} AND {_period_filter('CreatedDate', start_date, end_date)}",
        "CreatedDate, Id",
    )
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row["CaseId__c"], row["NewValue__c"])
    if not first:
        return first
    start = soql_datetime(date_arg("start_date", start_date))
    earlier = soql_records_in(
        ctx,
        "CaseId__c",
        "CaseHistory__c",
        lambda ids: f"{_ASSIGNMENT} AND CreatedDate < {start} AND CaseId__c IN {ids}",
        sorted(first),
    )
    for row in earlier:  # assigned before the period: its first assignment is not in it
        first.pop(row["CaseId__c"], None)
    return first


@tool(
    "get_agent_handled_cases_by_period",
    "Number of cases each agent handled in [start_date, end_date): a case counts for the agent named by its "
    "first Owner Assignment when that assignment falls in the period. Returns {agent_id: count}.",
    dict(_PERIOD),
    required=("start_date", "end_date"),
)
def get_agent_handled_cases_by_period(ctx: ToolContext, start_date: str, end_date: str) -> dict[str, int]:
    counts = Counter(agent for agent in _first_assignments(ctx, start_date, end_date).values() if agent)
    return dict(sorted(counts.items()))


@tool(
    "get_qualified_agent_ids_by_case_count",
    "Agent ids whose case count is more than n_cases (strictly greater).",
    {
        "agent_handled_cases": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "{agent_id: count}, e.g. from get_agent_handled_cases_by_period.",
        },
        "n_cases": {"type": "integer", "description": "The threshold."},
    },
    required=("agent_handled_cases", "n_cases"),
)
def get_qualified_agent_ids_by_case_count(
    ctx: ToolContext, agent_handled_cases: dict[str, int], n_cases: int
) -> list[str]:
    return sorted(agent for agent, count in agent_handled_cases.items() if count > n_cases)


@tool(
    "get_non_transferred_case_ids",
    "Ids of the cases created in [start_date, end_date) that were never transferred: exactly one Owner "
    "Assignment in their whole history.",
    dict(_PERIOD),
    required=("start_date", "end_date"),
)
def get_non_transferred_case_ids(ctx: ToolContext, start_date: str, end_date: str) -> list[str]:
    cases = soql_records(ctx, "Id", "Case", _period_filter("CreatedDate", start_date, end_date))
    if not cases:
        return []
    ids = sorted(row["Id"] for row in cases)
    rows = soql_records_in(
        ctx, "CaseId__c", "CaseHistory__c", lambda chunk: f"{_ASSIGNMENT} AND CaseId__c IN {chunk}", ids
    )
    counts = Counter(row["CaseId__c"] for row in rows)
    return sorted(case for case, count in counts.items() if count == 1)


@tool(
    "get_agent_transferred_cases_by_period",
    "Transfers per agent in [start_date, end_date): Owner Assignments in the period that moved a case away "
    "from the agent. With qualified_agent_ids, every listed agent appears, with 0 if it made no transfer.",
    {**_PERIOD, "qualified_agent_ids": {**_ID_LIST, "description": "Agents to report (all when omitted)."}},
    required=("start_date", "end_date"),
)
def get_agent_transferred_cases_by_period(
    ctx: ToolContext, start_date: str, end_date: str, qualified_agent_ids: list[str] | None = None
) -> dict[str, int]:
    rows = soql_records(
        ctx,
        "OldValue__c",
        "CaseHistory__c",
        f"{_ASSIGNMENT} AND OldValue__c != null AND {_period_filter('CreatedDate', start_date, end_date)}",
    )
    counts = Counter(row["OldValue__c"] for row in rows)
    if qualified_agent_ids is None:
        return dict(sorted(counts.items()))
    agents = id_list_arg("qualified_agent_ids", qualified_agent_ids, "User")
    return {agent: counts.get(agent, 0) for agent in sorted(set(agents))}


def _owner_counts(subset_cases: list[Any]) -> Counter[str]:
    records = case_records_arg("subset_cases", subset_cases, ("OwnerId",))
    return Counter(record["OwnerId"] for record in records)


_SUBSET = {"subset_cases": {**_RECORDS, "description": "Case records with OwnerId, e.g. from get_cases."}}


@tool(
    "get_agents_with_max_cases",
    "Agent ids (OwnerId) with the most cases in the given case records (several when tied).",
    dict(_SUBSET),
    required=("subset_cases",),
)
def get_agents_with_max_cases(ctx: ToolContext, subset_cases: list[Any]) -> list[str]:
    counts = _owner_counts(subset_cases)
    top = max(counts.values(), default=0)
    return sorted(agent for agent, count in counts.items() if count == top)


@tool(
    "get_agents_with_min_cases",
    "Agent ids (OwnerId) with the fewest cases among the agents present in the given case records.",
    dict(_SUBSET),
    required=("subset_cases",),
)
def get_agents_with_min_cases(ctx: ToolContext, subset_cases: list[Any]) -> list[str]:
    counts = _owner_counts(subset_cases)
    low = min(counts.values(), default=0)
    return sorted(agent for agent, count in counts.items() if count == low)


@tool(
    "calculate_average_handle_time",
    "Average handle time (ClosedDate - CreatedDate, in minutes) per agent (OwnerId) over the given case "
    "records; records without a ClosedDate are skipped. Returns {agent_id: minutes}.",
    {"cases": {**_RECORDS, "description": "Case records with OwnerId, CreatedDate, ClosedDate."}},
    required=("cases",),
)
def calculate_average_handle_time(ctx: ToolContext, cases: list[Any]) -> dict[str, float]:
    records = case_records_arg("cases", cases, ("OwnerId", "CreatedDate", "ClosedDate"))
    return mean_durations("cases", records, "OwnerId", 60.0)


@tool(
    "get_order_item_ids_by_product",
    "Ids of all order items (OrderItem) of a product.",
    {"product_id": {"type": "string", "description": "A Product2 id."}},
    required=("product_id",),
)
def get_order_item_ids_by_product(ctx: ToolContext, product_id: str) -> list[str]:
    product = id_arg("product_id", product_id, "Product2")
    rows = soql_records(ctx, "Id", "OrderItem", f"Product2Id = '{product}'", "Id")
    return [row["Id"] for row in rows]


@tool(
    "get_issue_counts",
    "Number of cases per issue (IssueId__c) among cases on the given order items created in "
    "[start_date, end_date). Returns {issue_id: count}.",
    {**_PERIOD, "order_item_ids": {**_ID_LIST, "description": "Order item ids, e.g. of one product."}},
    required=("start_date", "end_date", "order_item_ids"),
)
def get_issue_counts(ctx: ToolContext, start_date: str, end_date: str, order_item_ids: list[str]) -> dict[str, int]:
    items = id_list_arg("order_item_ids", order_item_ids, "OrderItem")
    period = _period_filter("CreatedDate", start_date, end_date)
    if not items:
        return {}
    rows = soql_records_in(ctx, "IssueId__c", "Case", lambda chunk: f"OrderItemId__c IN {chunk} AND {period}", items)
    counts = Counter(row["IssueId__c"] for row in rows if row.get("IssueId__c"))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@tool(
    "get_issues",
    "All issue categories (Issue__c): Id, Name and Description__c.",
    {},
)
def get_issues(ctx: ToolContext) -> list[dict[str, Any]]:
    return soql_records(ctx, "Id, Name, Description__c", "Issue__c", order_by="Name")


@tool(
    "get_month_to_case_count",
    "Number of cases per calendar month (English month name) of CreatedDate in the given case records.",
    {"cases": {**_RECORDS, "description": "Case records with CreatedDate."}},
    required=("cases",),
)
def get_month_to_case_count(ctx: ToolContext, cases: list[Any]) -> dict[str, int]:
    records = case_records_arg("cases", cases, ("CreatedDate",))
    counts: Counter[str] = Counter()
    for index, record in enumerate(records):
        created = record_datetime("cases", index, record, "CreatedDate")
        if created is not None:
            counts[MONTHS[created.month - 1]] += 1
    return {month: counts[month] for month in MONTHS if month in counts}


def _values_by_id(values_by_id: dict[str, Any]) -> dict[str, float]:
    for key, value in values_by_id.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolArgumentError(f"values_by_id[{key!r}] must be a number, got {value!r}")
    return values_by_id


_VALUES = {
    "values_by_id": {
        "type": "object",
        "additionalProperties": {"type": "number"},
        "description": "{id: number}, e.g. average handle times or counts.",
    }
}


@tool(
    "find_id_with_max_value",
    "The id(s) with the largest value in {id: value} (several when tied; empty for an empty input).",
    dict(_VALUES),
    required=("values_by_id",),
)
def find_id_with_max_value(ctx: ToolContext, values_by_id: dict[str, Any]) -> list[str]:
    values = _values_by_id(values_by_id)
    top = max(values.values(), default=None)
    return sorted(key for key, value in values.items() if value == top)


@tool(
    "find_id_with_min_value",
    "The id(s) with the smallest value in {id: value} (several when tied; empty for an empty input).",
    dict(_VALUES),
    required=("values_by_id",),
)
def find_id_with_min_value(ctx: ToolContext, values_by_id: dict[str, Any]) -> list[str]:
    values = _values_by_id(values_by_id)
    low = min(values.values(), default=None)
    return sorted(key for key, value in values.items() if value == low)
