"""A CRMArena-style harness loop through simple-salesforce gets what the in-process engine gets.

The queries are the ones the task tools actually issue (recorded while running them on the same
org) plus raw queries typical of Act/ReAct agents. The harness sends text starting with FIND to
``sf.search`` and anything else to ``sf.query_all``, and strips ``attributes``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest

import crm_core.tools.base
from crm_core.db import make_readonly_engine
from crm_core.query import QueryError
from crm_core.tools import TOOLS, ToolContext
from tests.api.conftest import API_TODAY

AGENT_QUERIES = [
    "SELECT Id, Name FROM Product2 WHERE Name LIKE '%Jacket%' ORDER BY Name",
    "SELECT COUNT() FROM Case WHERE Status = 'Closed'",
    "SELECT OwnerId, COUNT(Id) FROM Case WHERE CreatedDate >= 2024-01-01T00:00:00Z GROUP BY OwnerId",
    "SELECT Id, Subject, Account.Name, Owner.Name FROM Case ORDER BY CreatedDate DESC LIMIT 20",
    "SELECT Id, Name, (SELECT Id, Subject FROM Cases) FROM Account ORDER BY Name LIMIT 5",
    "SELECT Id, Title FROM Knowledge__kav WHERE Title LIKE '%Return%'",
    "SELECT Account.ShippingState, AVG(Quantity) FROM OrderItem GROUP BY Account.ShippingState",
    "SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:90",
    "SELECT Id, CaseId__c, Field__c, OldValue__c, NewValue__c FROM CaseHistory__c ORDER BY CreatedDate LIMIT 50",
    "FIND {return policy} IN ALL FIELDS RETURNING Knowledge__kav(Id, Title)",
    "FIND {jacket} RETURNING Product2(Id, Name), Case(Id, Subject)",
]


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _one(org_url: str, query: str) -> tuple:
    with sqlite3.connect(f"file:{org_url.removeprefix('sqlite:///')}?mode=ro", uri=True) as conn:
        return conn.execute(query).fetchone()


def _tool_calls(org_url: str) -> list[tuple[str, dict[str, Any]]]:
    """Realistic tool calls, with ids and dates taken from the org."""
    (product_id,) = _one(org_url, "SELECT Product2Id FROM OrderItem GROUP BY Product2Id ORDER BY COUNT(*) DESC")
    (contact_id,) = _one(org_url, "SELECT Id FROM Contact ORDER BY Id")
    account_id, day = _one(org_url, "SELECT AccountId, EffectiveDate FROM \"Order\" WHERE Status = 'Activated'")
    (email_case,) = _one(org_url, "SELECT ParentId FROM EmailMessage ORDER BY Id")
    (chat_case,) = _one(org_url, "SELECT CaseId FROM LiveChatTranscript ORDER BY Id")
    (product_name,) = _one(org_url, "SELECT Name FROM Product2 ORDER BY Id")
    period = {"start_date": "2024-01-01", "end_date": "2024-07-01"}
    return [
        ("get_cases", {**period, "statuses": ["Closed"]}),
        ("get_agent_handled_cases_by_period", period),
        ("get_non_transferred_case_ids", period),
        ("get_agent_transferred_cases_by_period", period),
        ("get_order_item_ids_by_product", {"product_id": product_id}),
        ("get_issues", {}),
        ("get_account_id_by_contact_id", {"contact_id": contact_id}),
        ("get_purchase_history", {"account_id": account_id, "purchase_date": day, "related_product_ids": [product_id]}),
        ("search_products", {"search_term": product_name.split()[0]}),
        ("search_knowledge_articles", {"search_term": "return"}),
        ("get_email_messages_by_case_id", {"case_id": email_case}),
        ("get_livechat_transcript_by_case_id", {"case_id": chat_case}),
    ]


@pytest.fixture(scope="module")
def recorded_queries(api_server, monkeypatch_module) -> list[str]:
    """Every SOQL/SOSL text the task tools send to the engine for the calls above."""
    texts: list[str] = []
    original = crm_core.tools.base.run_query

    def recording(conn, text: str, *, today: dt.date | None = None) -> dict:
        texts.append(text)
        return original(conn, text, today=today)

    monkeypatch_module.setattr(crm_core.tools.base, "run_query", recording)
    engine = make_readonly_engine(api_server.org_url)
    today = dt.date.fromisoformat(API_TODAY)
    with engine.connect() as conn:
        ctx = ToolContext(conn, today)
        for name, arguments in _tool_calls(api_server.org_url):
            result = TOOLS[name].call(ctx, arguments)
            if name == "get_cases":  # the region chain: cases -> shipping states -> closure times
                with_states = TOOLS["get_shipping_state"].call(ctx, {"cases": result[:50]})
                TOOLS["calculate_region_average_closure_times"].call(ctx, {"cases": with_states})
    engine.dispose()
    monkeypatch_module.undo()
    return list(dict.fromkeys(texts))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _harness(sf, text: str) -> Any:
    """CRMArena's loop: FIND goes to search, anything else to query_all; attributes stripped."""
    if text.strip().upper().startswith("FIND"):
        result = sf.search(text)
        return _strip(result["searchRecords"] if result else [])
    # query_all recounts totalSize from the records it fetched (0 for COUNT()), as CRMArena sees it.
    return _strip(sf.query_all(text)["records"])


def _in_process(org_url: str, text: str) -> Any:
    engine = make_readonly_engine(org_url)
    try:
        with engine.connect() as conn:
            result = crm_core.query.run_query(conn, text, today=dt.date.fromisoformat(API_TODAY))
    finally:
        engine.dispose()
    if "searchRecords" in result:
        return _strip(result["searchRecords"]), None
    return _strip(result["records"]), result["totalSize"]


def test_tools_issue_soql_and_sosl(recorded_queries):
    assert len(recorded_queries) >= 10
    assert any(t.upper().startswith("FIND") for t in recorded_queries)
    assert any(t.upper().startswith("SELECT") for t in recorded_queries)


def test_harness_loop_matches_the_in_process_engine(api_server, sf, recorded_queries):
    compared = 0
    for text in recorded_queries + AGENT_QUERIES:
        try:
            expected, total = _in_process(api_server.org_url, text)
        except QueryError:
            continue  # an agent query the engine rejects: the error path is tested elsewhere
        assert _harness(sf, text) == expected, text
        if total is not None:
            assert sf.query(text)["totalSize"] == total, text
        compared += 1
    assert compared >= len(recorded_queries) + len(AGENT_QUERIES) - 2
