"""The SOQL/SOSL console's result shaping: REST-shaped results as flat table rows.

Parents become dotted columns (``Account.Name``), child subqueries a record count, and SOSL
results gain a ``Type`` column, so that any result fits one table. Errors keep Salesforce's
``errorCode`` and message exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from crm_core.query.kind import is_sosl
from crm_core.studio.query_tables import ResultTable, query_table


class ConsoleError(BaseModel):
    """A failed query as Salesforce reports it."""

    error_code: str
    message: str


class ConsoleResult(BaseModel):
    """A query's records as flat rows, with Salesforce's total size (and the whole table)."""

    language: str
    total_size: int
    columns: list[str]
    rows: list[dict[str, Any]]
    table: ResultTable
    """With the child subqueries' records (:func:`crm_core.studio.query_tables.query_table`)."""


def query_language(text: str) -> str:
    """``SOSL`` for text starting with FIND (as CRMArena's harness decides), else ``SOQL``."""
    return "SOSL" if is_sosl(text) else "SOQL"


def query_tool(text: str) -> str:
    """The agents' tool that runs `text`: ``issue_sosl_query`` for FIND, else ``issue_soql_query``."""
    return "issue_sosl_query" if is_sosl(text) else "issue_soql_query"


def console_summary(query: str, observation: str) -> tuple[bool, str]:
    """``(ok, headline)`` of a console query's tool observation: ``SOQL: 5 records``, or the error."""
    table = query_table(observation)
    if table is None:
        return False, observation
    return True, f"{query_language(query)}: {table.total_size:,} records"


def shape_result(language: str, result: dict[str, Any] | list[dict[str, Any]]) -> ConsoleResult:
    """A REST query result (SOQL) or search result (SOSL) as a :class:`ConsoleResult`."""
    table = query_table(result if language == "SOQL" or isinstance(result, dict) else {"searchRecords": result})
    if table is None:
        raise ValueError(f"not a {language} result: {str(result)[:80]}")
    return ConsoleResult(
        language=language, total_size=table.total_size, columns=table.columns, rows=table.rows, table=table
    )


def shape_error(rest_errors: list[dict[str, str]] | dict[str, str]) -> ConsoleError:
    """The first error of a REST error body (``[{"message", "errorCode"}]``)."""
    first = rest_errors[0] if isinstance(rest_errors, list) else rest_errors
    return ConsoleError(error_code=first["errorCode"], message=first["message"])
