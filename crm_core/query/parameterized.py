"""Salesforce's Parameterized Search (``/parameterizedSearch``): search parameters turned into SOSL.

GET takes ``q``, ``in``, ``fields``, ``sobject`` (repeated), ``<Object>.fields``,
``<Object>.limit``, ``defaultLimit``, ``overallLimit``, ``spellCorrection``; POST takes the JSON
body ``{"q", "in", "fields", "sobjects": [{"name", "fields", "where", "limit"}], "defaultLimit",
"overallLimit", "spellCorrection", "snippet": {"targetLength"}, "highlights", "metadata",
"dataCategories": [{"groupName", "categories"}]}``. The SOSL text is then parsed and checked like
any other search: names are validated before they are placed in it, and nothing reaches SQL but
bound parameters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from crm_core.query.errors import INVALID_FIELD, INVALID_TYPE, MALFORMED_SEARCH, QueryError
from crm_core.query.lexer import tokenize
from crm_core.query.parser import Parser
from crm_core.query.sosl import run_sosl

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_SCOPES = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")


def _name(value: Any, code: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise QueryError(code, f"invalid {what}: {value!r}")
    return value


def _integer(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise QueryError(MALFORMED_SEARCH, f"{what} must be a whole number: {value!r}") from None
    if number < 1:
        raise QueryError(MALFORMED_SEARCH, f"{what} must be greater than zero: {number}")
    return number


def _clause(text: Any, kind: str) -> str:
    """A WHERE condition or ORDER BY list, checked to be exactly that (it cannot close the object's
    parentheses and add clauses of its own)."""
    if not isinstance(text, str):
        raise QueryError(MALFORMED_SEARCH, f"expected a {kind} as text, got {text!r}")
    try:
        parser = Parser(text, tokenize(text))
        if kind == "condition":
            parser.condition()
        else:
            parser.comma_list(parser.order_item)
        parser.expect_eof()
    except QueryError as exc:
        raise QueryError(MALFORMED_SEARCH, exc.message) from None
    return text


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Sequence):
        return [str(part).strip() for part in value]
    raise QueryError(MALFORMED_SEARCH, f"expected a list of field names, got {value!r}")


def from_query_string(params: Mapping[str, Any], sobjects: Sequence[str]) -> dict:
    """The GET parameters (``sobject`` repeated, ``Account.fields=...``) as a POST-style body."""
    body: dict[str, Any] = {key: value for key, value in params.items() if "." not in key and key != "sobject"}
    specs = []
    for name in sobjects:
        spec: dict[str, Any] = {"name": name}
        for key, value in params.items():
            obj, _, option = key.partition(".")
            if obj.lower() == name.lower() and option in ("fields", "limit"):
                spec[option] = value
        specs.append(spec)
    if specs:
        body["sobjects"] = specs
    return body


def to_sosl(body: Mapping[str, Any]) -> str:
    """The SOSL text of a parameterized search body; QueryError on a bad parameter."""
    q = body.get("q")
    if not isinstance(q, str) or not q.strip():
        raise QueryError(MALFORMED_SEARCH, "A search string (q) is required")
    term = q.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    parts = [f"FIND {{{term}}}"]
    scope = str(body.get("in", "ALL")).upper()
    if scope not in _SCOPES:
        raise QueryError(MALFORMED_SEARCH, f"in must be one of {', '.join(_SCOPES)}: {body.get('in')!r}")
    parts.append(f"IN {scope} FIELDS")
    default_fields = [_name(f, INVALID_FIELD, "field") for f in _split(body.get("fields"))]
    default_limit = body.get("defaultLimit")
    returning = []
    for spec in body.get("sobjects") or []:
        if not isinstance(spec, Mapping):
            raise QueryError(MALFORMED_SEARCH, f"each sobject must be an object with a name, got {spec!r}")
        name = _name(spec.get("name"), INVALID_TYPE, "sobject name")
        fields = [_name(f, INVALID_FIELD, "field") for f in _split(spec.get("fields"))] or default_fields
        inner = ", ".join(fields or ["Id"])
        where, order_by = spec.get("where"), spec.get("orderBy")
        if where is not None:
            inner += f" WHERE {_clause(where, 'condition')}"
        if order_by is not None:
            inner += f" ORDER BY {_clause(order_by, 'order')}"
        limit = spec.get("limit", default_limit)
        if limit is not None:
            inner += f" LIMIT {_integer(limit, 'limit')}"
        returning.append(f"{name}({inner})")
    if returning:
        parts.append("RETURNING " + ", ".join(returning))
    for category in body.get("dataCategories") or []:
        group = _name(category.get("groupName"), INVALID_FIELD, "data category group")
        names = ", ".join(_name(c, INVALID_FIELD, "data category") for c in _split(category.get("categories")))
        parts.append(f"WITH DATA CATEGORY {group} AT ({names})")
    if body.get("highlights") in (True, "true"):
        parts.append("WITH HIGHLIGHT")
    snippet = body.get("snippet")
    if isinstance(snippet, Mapping):
        parts.append(f"WITH SNIPPET (target_length={_integer(snippet.get('targetLength', 120), 'targetLength')})")
    if "spellCorrection" in body:
        parts.append(f"WITH SPELL_CORRECTION = {'true' if body['spellCorrection'] in (True, 'true') else 'false'}")
    if str(body.get("metadata", "")).upper() == "LABELS":
        parts.append("WITH METADATA = 'LABELS'")
    if body.get("overallLimit") is not None:
        parts.append(f"LIMIT {_integer(body['overallLimit'], 'overallLimit')}")
    return " ".join(parts)


def run_parameterized_search(
    conn: Connection | Engine, body: Mapping[str, Any], *, today: dt.date | None = None
) -> dict:
    """Run a parameterized search: ``{"searchRecords": [...]}`` as the search resource gives it."""
    return run_sosl(conn, to_sosl(body), today=today)
