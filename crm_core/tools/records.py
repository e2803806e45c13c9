"""Record tools of the workflow tasks: look records up by field values, and create, update and
delete one record in the episode's sandbox.

The observation of a write is what the REST API answers (``{"id", "success", "errors"}``);
a refused write reads ``ERRORCODE: message`` like a query error, so an agent can fix and retry.
``get_records`` lets the ``fc`` framework (which has no SOQL) find the records it must change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_core.org.metadata import describe_org
from crm_core.sandbox import Sandbox
from crm_core.tools.base import ToolArgumentError, ToolContext, ToolQueryError, soql_string, tool
from crm_core.tools.general import query_observation_records
from crm_core.writes import WriteError, create_record, delete_record, update_record

WRITE_TOOLS: tuple[str, ...] = ("create_record", "update_record", "delete_record")
"""The write tools, offered on workflow tasks only (read-only tasks keep CRMArena's tool set)."""
RECORD_TOOLS: tuple[str, ...] = ("get_records", *WRITE_TOOLS)
"""Every tool of the workflow tasks beyond CRMArena's (the lookup and the writes)."""
LOOKUP_LIMIT = 20

_OBJECT = {
    "type": "string",
    "description": "The object's API name, e.g. Case, Contact, CaseHistory__c",
    "enum": list(describe_org()),
}
_FIELDS = {
    "type": "object",
    "description": 'Field API names and values, e.g. {"Status": "Closed"}; null clears a field',
}
_ID = {"type": "string", "description": "The record's 15- or 18-character id"}


def _perform(ctx: ToolContext, write: Callable[[Sandbox], str]) -> dict[str, Any]:
    """Run `write` in the episode's sandbox; its id as the REST API answers, or the refusal."""
    if ctx.sandbox is None:
        raise ToolArgumentError("this org is read-only here: this task takes no writes")
    try:
        record_id = write(ctx.sandbox)
    except WriteError as exc:
        fields = f" (fields: {', '.join(exc.fields)})" if exc.fields else ""
        raise ToolQueryError(exc.error_code, exc.message + fields) from None
    return {"id": record_id, "success": True, "errors": []}


@tool(
    "create_record",
    "Create a record of an object with the given field values; returns its id. System fields "
    "(Id, CreatedDate, CaseNumber, ...) are set by the org.",
    {"object": _OBJECT, "fields": _FIELDS},
    required=("object", "fields"),
)
def create(ctx: ToolContext, object: str, fields: dict[str, Any]) -> Any:  # noqa: A002 - the schema's name
    return _perform(ctx, lambda box: create_record(box, object, fields))


@tool(
    "update_record",
    "Set fields of one record (by id) to the given values.",
    {"object": _OBJECT, "id": _ID, "fields": _FIELDS},
    required=("object", "id", "fields"),
)
def update(ctx: ToolContext, object: str, id: str, fields: dict[str, Any]) -> Any:  # noqa: A002
    def write(box: Sandbox) -> str:
        update_record(box, object, id, fields)
        return id

    return _perform(ctx, write)


@tool(
    "delete_record",
    "Delete one record (by id). A case's history and emails go with it; records other records "
    "still point at cannot be deleted.",
    {"object": _OBJECT, "id": _ID},
    required=("object", "id"),
)
def delete(ctx: ToolContext, object: str, id: str) -> Any:  # noqa: A002
    def write(box: Sandbox) -> str:
        delete_record(box, object, id)
        return id

    return _perform(ctx, write)


@tool(
    "get_records",
    f"Records of an object whose fields equal the given values, with all their fields (at most {LOOKUP_LIMIT}, by Id).",
    {
        "object": _OBJECT,
        "where": {
            "type": "object",
            "description": 'Field API names and the values they must equal, e.g. {"Email": "ann@example.com"}',
        },
    },
    required=("object", "where"),
)
def get_records(ctx: ToolContext, object: str, where: dict[str, Any]) -> Any:  # noqa: A002
    described = describe_org()[object]
    if not where:
        raise ToolArgumentError("argument 'where' needs at least one field and value to match")
    conditions = []
    for name, value in where.items():
        field = described.field(name)
        if field is None:
            raise ToolArgumentError(f"{object} has no field {name!r}")
        conditions.append(f"{field.name} = {_literal(value)}")
    fields = ", ".join(f.name for f in described.fields)
    soql = f"SELECT {fields} FROM {object} WHERE {' AND '.join(conditions)} ORDER BY Id LIMIT {LOOKUP_LIMIT}"  # noqa: S608
    return query_observation_records(ctx, soql)


def _literal(value: Any) -> str:
    """A SOQL literal of a JSON value (the engine binds it as a parameter)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return soql_string(value)
    raise ToolArgumentError(f"a value to match must be text, a number, true/false or null, got {value!r}")
