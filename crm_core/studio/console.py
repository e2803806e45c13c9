"""The SOQL/SOSL console's result shaping: REST-shaped results as flat table rows.

Parents become dotted columns (``Account.Name``), child subqueries a record count, and SOSL
results gain a ``Type`` column, so that any result fits one table. Errors keep Salesforce's
``errorCode`` and message exactly.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ConsoleError(BaseModel):
    """A failed query as Salesforce reports it."""

    error_code: str
    message: str


class ConsoleResult(BaseModel):
    """A query's records as flat rows, with Salesforce's total size."""

    language: str
    total_size: int
    columns: list[str]
    rows: list[dict[str, Any]]


def query_language(text: str) -> str:
    """``SOSL`` for text starting with FIND (as CRMArena's harness decides), else ``SOQL``."""
    return "SOSL" if text.lstrip()[:4].upper() == "FIND" else "SOQL"


def _flatten(record: dict[str, Any], prefix: str, row: dict[str, Any]) -> None:
    for key, value in record.items():
        if key == "attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "records" in value:
            row[name] = f"{value.get('totalSize', len(value['records']))} records"
        elif isinstance(value, dict):
            _flatten(value, f"{name}.", row)
        else:
            row[name] = value


def flatten_records(
    records: list[dict[str, Any]], *, with_type: bool = False
) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns (first-seen order) and flat rows of REST records."""
    columns: dict[str, None] = {}
    rows = []
    for record in records:
        row: dict[str, Any] = {}
        if with_type:
            row["Type"] = record.get("attributes", {}).get("type")
        _flatten(record, "", row)
        columns.update(dict.fromkeys(row))
        rows.append(row)
    # A null parent (``"Account": null``) leaves its dotted columns blank rather than adding its own.
    parents = {name for name in columns if any(other.startswith(f"{name}.") for other in columns)}
    for row in rows:
        for name in parents:
            row.pop(name, None)
    return [name for name in columns if name not in parents], rows


def shape_result(language: str, result: dict[str, Any] | list[dict[str, Any]]) -> ConsoleResult:
    """A REST query result (SOQL) or search result (SOSL) as a :class:`ConsoleResult`."""
    if language == "SOSL":
        records = result if isinstance(result, list) else result.get("searchRecords", [])
        columns, rows = flatten_records(records, with_type=True)
        return ConsoleResult(language=language, total_size=len(rows), columns=columns, rows=rows)
    assert isinstance(result, dict)
    columns, rows = flatten_records(result.get("records", []))
    total = int(result.get("totalSize", len(rows)))
    return ConsoleResult(language=language, total_size=total, columns=columns, rows=rows)


def shape_error(rest_errors: list[dict[str, str]] | dict[str, str]) -> ConsoleError:
    """The first error of a REST error body (``[{"message", "errorCode"}]``)."""
    first = rest_errors[0] if isinstance(rest_errors, list) else rest_errors
    return ConsoleError(error_code=first["errorCode"], message=first["message"])
