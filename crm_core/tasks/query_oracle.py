"""The oracle's second way: every instance answered with raw SOQL/SOSL only (`issue_soql_query`,
`issue_sosl_query`), as an Act or ReAct agent would, with the arithmetic done on the results.

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

from crm_core.tasks.periods import MONTHS, parse_when
from crm_core.tasks.reference import pick_extreme

Call = Callable[..., Any]
ASSIGNMENT = "Field__c = 'Owner Assignment'"


def _q(call: Call, soql: str) -> list[dict[str, Any]]:
    result = call("issue_soql_query", query=soql)
    return result if isinstance(result, list) else []


def _in(values: list[str] | set[str]) -> str:
    return "(" + ", ".join(_quoted(v) for v in sorted(values)) + ")"


def _between(p: dict[str, Any], field: str = "CreatedDate") -> str:
    return f"{field} >= {p['start']} AND {field} < {p['end']}"


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _handled(call: Call, p: dict[str, Any]) -> dict[str, int]:
    rows = _q(
        call,
        f"SELECT CaseId__c, NewValue__c FROM CaseHistory__c WHERE {ASSIGNMENT} AND {_between(p)} "
        "ORDER BY CreatedDate, Id",
    )
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row["CaseId__c"], row["NewValue__c"])
    if first:
        earlier = _q(
            call,
            f"SELECT CaseId__c FROM CaseHistory__c WHERE {ASSIGNMENT} AND CreatedDate < {p['start']} "
            f"AND CaseId__c IN {_in(set(first))}",
        )
        for row in earlier:
            first.pop(row["CaseId__c"], None)
    counts: dict[str, int] = defaultdict(int)
    for agent in first.values():
        counts[agent] += 1
    return counts


def _qualified(call: Call, p: dict[str, Any]) -> set[str]:
    return {agent for agent, count in _handled(call, p).items() if count > p["n"]}


def _mean_seconds(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], str | None]) -> dict[str, float]:
    spans: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        group = key(row)
        if group and row.get("ClosedDate"):
            spans[group].append((parse_when(row["ClosedDate"]) - parse_when(row["CreatedDate"])).total_seconds())
    return {group: math.fsum(v) / len(v) for group, v in sorted(spans.items())}


def handle_time(call: Call, p: dict[str, Any]) -> str | None:
    qualified = _qualified(call, p)
    if not qualified:
        return None
    cases = _q(
        call,
        f"SELECT Id, OwnerId, CreatedDate, ClosedDate FROM Case WHERE {_between(p)} AND Status = 'Closed' "
        f"AND OwnerId IN {_in(qualified)} ORDER BY Id",
    )
    if not cases:
        return None
    counts = _q(
        call,
        f"SELECT CaseId__c, COUNT(Id) assignments FROM CaseHistory__c WHERE {ASSIGNMENT} "
        f"AND CaseId__c IN {_in({c['Id'] for c in cases})} GROUP BY CaseId__c",
    )
    single = {row["CaseId__c"] for row in counts if row["assignments"] == 1}
    kept = [case for case in cases if case["Id"] in single]
    return pick_extreme(_mean_seconds(kept, lambda case: case["OwnerId"]), p["extreme"])


def transfer_count(call: Call, p: dict[str, Any]) -> str | None:
    qualified = _qualified(call, p)
    if not qualified:
        return None
    rows = _q(
        call,
        f"SELECT OldValue__c, COUNT(Id) transfers FROM CaseHistory__c WHERE {ASSIGNMENT} AND OldValue__c != null "
        f"AND {_between(p)} GROUP BY OldValue__c",
    )
    counts = {agent: 0.0 for agent in sorted(qualified)}
    for row in rows:
        if row["OldValue__c"] in counts:
            counts[row["OldValue__c"]] = float(row["transfers"])
    return pick_extreme(counts, p["extreme"])


def top_issue(call: Call, p: dict[str, Any]) -> str | None:
    rows = _q(
        call,
        f"SELECT IssueId__c, COUNT(Id) cases FROM Case WHERE OrderItemId__r.Product2Id = '{p['product_id']}' "
        f"AND {_between(p)} AND IssueId__c != null GROUP BY IssueId__c ORDER BY COUNT(Id) DESC",
    )
    return pick_extreme({row["IssueId__c"]: float(row["cases"]) for row in rows}, "max")


def monthly_trend(call: Call, p: dict[str, Any]) -> str | None:
    rows = _q(
        call,
        f"SELECT CALENDAR_MONTH(CreatedDate) month, COUNT(Id) cases FROM Case "
        f"WHERE OrderItemId__r.Product2Id = '{p['product_id']}' AND {_between(p)} "
        "GROUP BY CALENDAR_MONTH(CreatedDate)",
    )
    return pick_extreme({MONTHS[row["month"] - 1]: float(row["cases"]) for row in rows}, "max")


def best_region(call: Call, p: dict[str, Any]) -> str | None:
    rows = _q(
        call,
        f"SELECT Account.ShippingState, CreatedDate, ClosedDate FROM Case WHERE Status = 'Closed' AND {_between(p)} "
        "ORDER BY Id",
    )
    return pick_extreme(_mean_seconds(rows, lambda row: (row.get("Account") or {}).get("ShippingState")), "min")


def case_routing(call: Call, p: dict[str, Any]) -> str | None:
    def owner_counts(where: str) -> dict[str, int]:
        rows = _q(call, f"SELECT OwnerId, COUNT(Id) cases FROM Case WHERE {where} GROUP BY OwnerId")
        return {row["OwnerId"]: row["cases"] for row in rows}

    by_issue = owner_counts(f"Status = 'Closed' AND IssueId__c = '{p['issue_id']}'")
    top = max(by_issue.values())
    tied = sorted(agent for agent, count in by_issue.items() if count == top)
    if len(tied) > 1:
        by_product = owner_counts(
            f"Status = 'Closed' AND OrderItemId__r.Product2Id = '{p['product_id']}' AND OwnerId IN {_in(tied)}"
        )
        best = max((by_product.get(agent, 0) for agent in tied), default=0)
        tied = [agent for agent in tied if by_product.get(agent, 0) == best]
    if len(tied) > 1:
        open_cases = owner_counts(f"Status != 'Closed' AND OwnerId IN {_in(tied)}")
        fewest = min(open_cases.get(agent, 0) for agent in tied)
        tied = [agent for agent in tied if open_cases.get(agent, 0) == fewest]
    return tied[0] if len(tied) == 1 else None


def named_entity(call: Call, p: dict[str, Any]) -> str | None:
    contact = _q(call, f"SELECT AccountId FROM Contact WHERE Id = '{p['contact_id']}'")
    found = call("issue_sosl_query", query=f"FIND {{{p['term']}}} IN ALL FIELDS RETURNING Product2(Id, Name)")
    candidates = {record["Id"] for record in found} if isinstance(found, list) else set()
    if not contact or not candidates:
        return None
    items = _q(
        call,
        f"SELECT Product2Id FROM OrderItem WHERE Order.AccountId = '{contact[0]['AccountId']}' "
        f"AND Order.EffectiveDate = {p['purchase_date']} AND Order.Status = 'Activated' "
        f"AND Product2Id IN {_in(candidates)}",
    )
    products = sorted({item["Product2Id"] for item in items})
    return products[0] if len(products) == 1 else None


def policy_violation(call: Call, p: dict[str, Any]) -> str | None:
    _q(call, f"SELECT Subject, TextBody FROM EmailMessage WHERE ParentId = '{p['case_id']}' ORDER BY MessageDate")
    _q(call, f"SELECT Body FROM LiveChatTranscript WHERE CaseId = '{p['case_id']}'")
    if not p.get("policy_title"):
        return None
    found = _q(call, f"SELECT Id, Title FROM Knowledge__kav WHERE Title = {_quoted(p['policy_title'])}")
    return found[0]["Id"] if len(found) == 1 else None


def knowledge_answer(call: Call, p: dict[str, Any]) -> str | None:
    found = _q(call, f"SELECT Id, FAQ_Answer__c FROM Knowledge__kav WHERE Id = '{p['article_id']}'")
    return found[0]["FAQ_Answer__c"][p["answer_start"] : p["answer_end"]] if found else None


QUERY_SOLVERS: dict[str, Callable[[Call, dict[str, Any]], str | None]] = {
    "handle_time": handle_time,
    "transfer_count": transfer_count,
    "top_issue_identification": top_issue,
    "monthly_trend_analysis": monthly_trend,
    "best_region_identification": best_region,
    "case_routing": case_routing,
    "named_entity_disambiguation": named_entity,
    "policy_violation_identification": policy_violation,
    "knowledge_qa": knowledge_answer,
}
"""Per task: (call, params) -> answer, where `call(tool, **arguments)` runs a raw query tool."""
