"""Rows to the REST API's result shape (records with ``attributes``, nested parents and children)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_core.query.planner import RecordLayout

API_PREFIX = "/services/data/v60.0/sobjects/"


def record(row: Sequence[Any], layout: RecordLayout, children: list[dict[Any, dict]] | None = None) -> dict:
    """One REST record from a row: attributes, then the entries in SELECT order."""
    record_id = row[layout.id_index]
    result: dict[str, Any] = {"attributes": {"type": layout.type, "url": f"{API_PREFIX}{layout.type}/{record_id}"}}
    for name, kind, payload in layout.entries:
        if kind == "field":
            index, convert = payload
            value = row[index]
            result[name] = convert(value) if convert is not None and value is not None else value
        elif kind == "parent":
            result[name] = record(row, payload) if row[payload.id_index] is not None else None
        else:
            result[name] = children[payload].get(record_id) if children else None
    return result


def query_result(records: list[dict], total: int | None = None) -> dict:
    """``{"totalSize", "done", "records"}``."""
    return {"totalSize": len(records) if total is None else total, "done": True, "records": records}
