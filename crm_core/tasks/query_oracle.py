"""Helpers of the oracle's second way: each task type's query solver answers with raw SOQL/SOSL
only (`issue_soql_query`, `issue_sosl_query`), as an Act or ReAct agent would, with the arithmetic
done on the results.

It proves that the raw query path reaches the same ground truth as the task tools, and gives the
`act`/`react` offline oracle steps it can replay in `<execute>` tags.
"""

# ruff: noqa: S608 - these strings are SOQL written as an agent would, sent to `issue_soql_query`;
# the engine binds every literal as a parameter, so none of this is SQL.

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from crm_core.periods import parse_when

Call = Callable[..., Any]
ASSIGNMENT = "Field__c = 'Owner Assignment'"


def soql(call: Call, query: str) -> list[dict[str, Any]]:
    """The records `issue_soql_query` returns for `query` ([] on an error)."""
    result = call("issue_soql_query", query=query)
    return result if isinstance(result, list) else []


IN_CHUNK = 500
"""Values per ``IN`` list: longer lists go in several queries, so that every query stays within
Salesforce's statement and URI limits (a careful agent does the same)."""


def in_list(values: list[str] | set[str]) -> str:
    """A SOQL ``IN`` list of quoted, sorted values (for lists known to be short, such as agents)."""
    return "(" + ", ".join(quoted(v) for v in sorted(values)) + ")"


def soql_in(call: Call, query: Callable[[str], str], values: list[str] | set[str]) -> list[dict[str, Any]]:
    """The records of ``query(in_list)`` over the sorted `values`, :data:`IN_CHUNK` at a time."""
    ordered = sorted(values)
    records: list[dict[str, Any]] = []
    for start in range(0, len(ordered), IN_CHUNK):
        records += soql(call, query(in_list(ordered[start : start + IN_CHUNK])))
    return records


def between(p: dict[str, Any], field: str = "CreatedDate") -> str:
    """The SOQL condition that `field` is in the half-open period of `p`."""
    return f"{field} >= {p['start']} AND {field} < {p['end']}"


def quoted(value: str) -> str:
    """A SOQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _handled(call: Call, p: dict[str, Any]) -> dict[str, int]:
    records = soql(
        call,
        f"SELECT CaseId__c, NewValue__c FROM CaseHistory__c WHERE {ASSIGNMENT} AND {between(p)} "
        "ORDER BY CreatedDate, Id",
    )
    first: dict[str, str] = {}
    for row in records:
        first.setdefault(row["CaseId__c"], row["NewValue__c"])
    if first:
        earlier = soql_in(
            call,
            lambda ids: (
                f"SELECT CaseId__c FROM CaseHistory__c WHERE {ASSIGNMENT} AND CreatedDate < {p['start']} "
                f"AND CaseId__c IN {ids}"
            ),
            set(first),
        )
        for row in earlier:
            first.pop(row["CaseId__c"], None)
    counts: dict[str, int] = defaultdict(int)
    for agent in first.values():
        counts[agent] += 1
    return counts


def qualified_agents(call: Call, p: dict[str, Any]) -> set[str]:
    """Agents whose first Owner Assignments in the period number more than ``p["n"]``."""
    return {agent for agent, count in _handled(call, p).items() if count > p["n"]}


def mean_seconds(records: list[dict[str, Any]], key: Callable[[dict[str, Any]], str | None]) -> dict[str, float]:
    """Mean ClosedDate - CreatedDate in seconds of the `records` per group `key(record)`."""
    spans: dict[str, list[float]] = defaultdict(list)
    for row in records:
        group = key(row)
        if group and row.get("ClosedDate"):
            spans[group].append((parse_when(row["ClosedDate"]) - parse_when(row["CreatedDate"])).total_seconds())
    return {group: math.fsum(v) / len(v) for group, v in sorted(spans.items())}
