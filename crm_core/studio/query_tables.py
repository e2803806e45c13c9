"""Query results as display tables, the same for the console, the workbench and Trajectory Replay.

:func:`query_table` reads what a SOQL/SOSL query returned in any of the shapes the project
records: the REST API's body (``{"totalSize", "done", "records"}`` or ``{"searchRecords"}``, with
``attributes``), or the agents' tool observation (the records as a JSON list, without
``attributes`` and all-null columns; ``{"totalSize": N}`` for a ``COUNT()``), as text or parsed.
Parents become dotted columns (``Account.Name``); a child subquery becomes a "3 records" cell and
a :class:`ChildTable` of its records, which a page shows expandable under the row. Tool results
that are not records (a map of values by id, a list of ids) become two- or one-column tables.
Ids in the cells can be shown as "Name (id)" with :func:`name_ids`, given the titles that
:func:`crm_core.studio.explorer.id_titles` reads from the org.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from crm_core.org.ids import is_valid_id
from crm_core.studio.explorer import named

OBSERVATION_PREFIX = "Salesforce instance output: "
_ID_TOKEN = re.compile(r"\b[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?\b")


class ChildTable(BaseModel):
    """The records of one child subquery of one row (``row`` is 0-based)."""

    row: int
    relationship: str
    table: ResultTable


class ResultTable(BaseModel):
    """A query result as one table: columns in first-seen order, flat rows, child subqueries."""

    total_size: int
    """Salesforce's ``totalSize`` (may exceed the rows shown), else the row count."""
    columns: list[str]
    rows: list[dict[str, Any]]
    children: list[ChildTable] = []

    def children_of(self, row: int) -> list[ChildTable]:
        """The child subqueries of one row that have records."""
        return [c for c in self.children if c.row == row and c.table.rows]


def _is_child_result(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("records"), list)


def _flatten(record: Mapping[str, Any], prefix: str, row: dict[str, Any], children: dict[str, Any]) -> None:
    for key, value in record.items():
        if key == "attributes":
            continue
        name = f"{prefix}{key}"
        if _is_child_result(value):
            row[name] = f"{value.get('totalSize', len(value['records']))} records"
            children[name] = value
        elif isinstance(value, dict):
            _flatten(value, f"{name}.", row, children)
        else:
            row[name] = value


def _records_table(records: list[Mapping[str, Any]], total_size: int | None, *, with_type: bool) -> ResultTable:
    columns: dict[str, None] = {}
    rows: list[dict[str, Any]] = []
    children: list[ChildTable] = []
    for index, record in enumerate(records):
        row: dict[str, Any] = {}
        if with_type:
            row["Type"] = (record.get("attributes") or {}).get("type")
        found: dict[str, Any] = {}
        _flatten(record, "", row, found)
        for relationship, result in found.items():
            child = _records_table(result["records"], result.get("totalSize"), with_type=False)
            children.append(ChildTable(row=index, relationship=relationship, table=child))
        columns.update(dict.fromkeys(row))
        rows.append(row)
    # A null parent (``"Account": null``) leaves its dotted columns blank rather than adding its own.
    parents = {name for name in columns if any(other.startswith(f"{name}.") for other in columns)}
    for row in rows:
        for name in parents:
            row.pop(name, None)
    return ResultTable(
        total_size=len(rows) if total_size is None else int(total_size),
        columns=[name for name in columns if name not in parents],
        rows=rows,
        children=children,
    )


def _parse(result: Any) -> Any:
    if not isinstance(result, str):
        return result
    text = result.strip().removeprefix(OBSERVATION_PREFIX)
    try:
        return json.loads(text)
    except ValueError:
        return None


def query_table(result: Any) -> ResultTable | None:
    """A query result (REST body or tool observation, text or parsed) as a table; None if it is none.

    Error observations (``MALFORMED_QUERY: ...``, ``Error: ...``) and plain text give None.
    """
    data = _parse(result)
    if isinstance(data, dict):
        if isinstance(data.get("searchRecords"), list):
            return _records_table(data["searchRecords"], None, with_type=True)
        if isinstance(data.get("records"), list):
            return _records_table(data["records"], data.get("totalSize"), with_type=False)
        if set(data) == {"totalSize"}:  # COUNT() as the tool reports it
            return ResultTable(total_size=int(data["totalSize"]), columns=["totalSize"], rows=[data])
        if data and all(not isinstance(v, dict | list) for v in data.values()):
            rows = [{"key": key, "value": value} for key, value in data.items()]
            return ResultTable(total_size=len(rows), columns=["key", "value"], rows=rows)
        return None
    if isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            types = {(item.get("attributes") or {}).get("type") for item in data} - {None}
            return _records_table(data, None, with_type=len(types) > 1)
        if all(not isinstance(item, dict | list) for item in data):
            return ResultTable(total_size=len(data), columns=["value"], rows=[{"value": v} for v in data])
    return None


def table_ids(table: ResultTable) -> set[str]:
    """Every record id in the table's cells and its children's (for :func:`crm_core.studio.explorer.id_titles`)."""
    found = {v for row in table.rows for v in row.values() if isinstance(v, str) and is_valid_id(v)}
    for child in table.children:
        found |= table_ids(child.table)
    return found


def text_ids(text: str | None) -> set[str]:
    """The record ids written in a text (an answer)."""
    return {token for token in _ID_TOKEN.findall(text or "") if is_valid_id(token)}


def name_ids(table: ResultTable, names: Mapping[str, str]) -> ResultTable:
    """The table with ids (outside its own ``Id`` column) shown as "Name (id)"."""

    def cell(column: str, value: Any) -> Any:
        if column != "Id" and isinstance(value, str) and value in names:
            return named(names[value], value)
        return value

    return table.model_copy(
        update={
            "rows": [{c: cell(c, v) for c, v in row.items()} for row in table.rows],
            "children": [child.model_copy(update={"table": name_ids(child.table, names)}) for child in table.children],
        }
    )


def name_text(text: str | None, names: Mapping[str, str]) -> str | None:
    """A text (an answer) with each known id in it shown as "Name (id)"."""
    if not text:
        return text
    return _ID_TOKEN.sub(lambda m: named(names[m[0]], m[0]) if m[0] in names else m[0], text)
