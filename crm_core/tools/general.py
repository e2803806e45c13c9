"""General tools: raw SOQL and SOSL, formatted as CRMArena's harness shows them, and `respond`."""

from __future__ import annotations

from typing import Any

from crm_core.query.kind import is_sosl
from crm_core.tools.base import ToolArgumentError, ToolContext, run_engine, strip_attributes, tool

OBSERVATION_PREFIX = "Salesforce instance output: "
"""What CRMArena's Act/ReAct harness puts before a raw query's observation."""


def drop_all_null_columns(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records without the columns that are null in every record (CRMArena's observation format)."""
    keep = {key for record in records for key, value in record.items() if value is not None}
    return [{k: v for k, v in record.items() if k in keep} for record in records]


def query_observation_records(ctx: ToolContext, text: str) -> Any:
    """Run a SOQL or SOSL text (``FIND`` starts SOSL) and shape the result as CRMArena does.

    A `COUNT()` query has no records; its observation is ``{"totalSize": N}`` instead of ``[]``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ToolArgumentError("the query is empty: send a SOQL query or a SOSL search starting with FIND")
    result = run_engine(ctx, text.strip())
    if "searchRecords" in result:
        return drop_all_null_columns(strip_attributes(result["searchRecords"]))
    records = strip_attributes(result.get("records", []))
    if not records and result.get("totalSize"):
        return {"totalSize": result["totalSize"]}
    return drop_all_null_columns(records)


@tool(
    "issue_soql_query",
    "Run a SOQL query on the Salesforce org and return the records as a list of objects "
    "(errors come back as 'ERRORCODE: message').",
    {"query": {"type": "string", "description": "The SOQL query, e.g. SELECT Id, Name FROM Product2 LIMIT 5"}},
    required=("query",),
)
def issue_soql_query(ctx: ToolContext, query: str) -> Any:
    if is_sosl(query):
        raise ToolArgumentError("this is a SOSL search: use issue_sosl_query for FIND {...} queries")
    return query_observation_records(ctx, query)


@tool(
    "issue_sosl_query",
    "Run a SOSL search (FIND {terms} IN ALL FIELDS RETURNING Object(fields)) on the org and return the "
    "matching records as one list.",
    {"query": {"type": "string", "description": "The SOSL search, e.g. FIND {jacket} RETURNING Product2(Id, Name)"}},
    required=("query",),
)
def issue_sosl_query(ctx: ToolContext, query: str) -> Any:
    if not is_sosl(query):
        raise ToolArgumentError("a SOSL search starts with FIND {...}; use issue_soql_query for SELECT queries")
    return query_observation_records(ctx, query)


@tool(
    "respond",
    "Give the final answer to the user. Use the exact id, name or text asked for, or None if there is none.",
    {"content": {"type": "string", "description": "The final answer."}},
    required=("content",),
)
def respond(ctx: ToolContext, content: str) -> str:
    return content
