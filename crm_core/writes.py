"""Record writes with Salesforce's validation, errors and system fields, into a sandbox.

:func:`create_record`, :func:`update_record`, :func:`delete_record` and :func:`upsert_record`
are the one implementation behind the agent tools and the REST API. They check what Salesforce
checks, in its order (object, fields, writability, values, references, required fields) and
raise :class:`WriteError` with Salesforce's code, message and fields. They maintain what the
platform maintains: the record id, ``CreatedDate`` and ``LastModifiedDate`` (the write's time on
every create and update), auto-numbers (``CaseNumber`` ...), compound
names (``Name`` from first and last name), a case's ``ClosedDate``, and the ``CaseHistory__c``
audit rows the org's own history has (``Case Creation``, ``Owner Assignment``, ``Case Closed``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from crm_core.org.ids import is_valid_id, make_id, object_of, to_18
from crm_core.org.metadata import (
    AUTO_NUMBERS,
    COMPOUND_NAMES,
    SYSTEM_FIELDS,
    FieldDescribe,
    ObjectDescribe,
    find_object,
    is_platform_field,
)
from crm_core.sandbox import Sandbox, utc_now

DEFAULTS: dict[str, dict[str, Any]] = {
    "Case": {"Status": "New"},
    "Order": {"Status": "Draft"},
    "Knowledge__kav": {"PublishStatus": "Draft", "Language": "en_US"},
}
"""Picklist defaults applied on create when the field is not given."""
CASCADE: frozenset[tuple[str, str]] = frozenset({("CaseHistory__c", "CaseId__c"), ("EmailMessage", "ParentId")})
"""(child object, field): children deleted with their parent; other children block a delete."""
FIRST_NEW_SEQUENCE = 10**12  # new records' id sequence numbers start far above any generated org's
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass
class WriteError(Exception):
    """A refused write: Salesforce's error code, message, the fields concerned and HTTP status."""

    error_code: str
    message: str
    fields: list[str] = field(default_factory=list)
    status: int = 400

    def __post_init__(self) -> None:
        super().__init__(f"{self.error_code}: {self.message}")

    def rest_body(self) -> dict[str, Any]:
        """The error as the sObject REST resources answer it."""
        return {"message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def collection_body(self) -> dict[str, Any]:
        """The error as the composite collections answer it (``statusCode``)."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def not_found() -> WriteError:
    """The record does not exist (or never existed in this sandbox)."""
    return WriteError("NOT_FOUND", "The requested resource does not exist", [], 404)


def entity_deleted() -> WriteError:
    """The record was deleted."""
    return WriteError("ENTITY_IS_DELETED", "entity is deleted", [], 404)


def writable_object(name: str) -> ObjectDescribe:
    """The object called `name` (any letter case), or ``NOT_FOUND``/``INVALID_TYPE``."""
    obj = find_object(name) if isinstance(name, str) else None
    if obj is None:
        raise WriteError("NOT_FOUND", f"sObject type '{name}' is not supported.", [], 404)
    return obj


# --- values --------------------------------------------------------------------------------------


def _parser_error(described: FieldDescribe, value: Any, wanted: str) -> WriteError:
    return WriteError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {wanted} from {_json_kind(value)} value {value} "
        f"or request may be missing a required field",
        [described.name],
    )


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int | float):
        return "VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"


def parse_datetime(value: str) -> dt.datetime | None:
    """An ISO 8601 date-time (``Z``, ``+hh:mm`` or ``+hhmm``; a bare date is midnight) as naive UTC."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    match = _DATETIME.match(value)
    if not match:
        return None
    day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime.fromisoformat(f"{day}T{hour}:{minute}:{second or '00'}")
    except ValueError:
        return None
    moment = moment.replace(microsecond=int((fraction or "0").ljust(6, "0")) // 1000 * 1000)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def coerce_value(described: FieldDescribe, value: Any) -> Any:
    """`value` (as JSON gives it) in the field's stored form, or Salesforce's error for it."""
    if value is None:
        return None
    kind = described.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise _parser_error(described, value, "boolean")
    if kind in {"double", "currency", "int", "percent"}:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _parser_error(described, value, "double")
        try:
            number = float(value)
        except ValueError:
            raise _parser_error(described, value, "double") from None
        if not math.isfinite(number):
            raise _parser_error(described, value, "double")
        return number
    if kind in {"date", "datetime"}:
        moment = parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise _parser_error(described, value, kind)
        return moment.date() if kind == "date" else moment
    if not isinstance(value, str):
        raise _parser_error(described, value, "String")
    if kind in {"reference", "id"}:
        return value
    if kind == "picklist":
        if value not in described.picklist_values:
            raise WriteError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{described.label}: bad value for restricted picklist field: {value}",
                [described.name],
            )
        return value
    if described.length is not None and len(value) > described.length:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise WriteError(
            "STRING_TOO_LONG",
            f"{described.label}: data value too large: {shown} (max length={described.length})",
            [described.name],
        )
    return value


def _reference(store: Sandbox, described: FieldDescribe, value: str) -> str:
    """A reference value checked like Salesforce: well-formed, of the right object, existing."""
    if not is_valid_id(value):
        raise WriteError("MALFORMED_ID", f"{described.label}: id value of incorrect type: {value}", [described.name])
    if object_of(value) != described.reference_to:
        raise WriteError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{described.label}: id value of incorrect type: {value}",
            [described.name],
        )
    record_id = to_18(value)
    assert described.reference_to is not None
    if store.read(described.reference_to, record_id) is None:
        if store.was_deleted(described.reference_to, record_id):
            raise WriteError("ENTITY_IS_DELETED", "entity is deleted", [described.name])
        raise WriteError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [described.name])
    return record_id


def _checked_values(store: Sandbox, obj: ObjectDescribe, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values keyed by canonical field name, coerced and checked (not yet for required fields)."""
    if not isinstance(values, Mapping):
        raise WriteError("JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
    named: dict[str, tuple[FieldDescribe, Any]] = {}
    for name, value in values.items():
        if name == "attributes":
            continue
        described = obj.field(name)
        if described is None:
            raise WriteError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name])
        named[described.name] = (described, value)
    protected = sorted(name for name in named if is_platform_field(obj.name, name))
    if protected:
        raise WriteError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(protected)}. Please check the security settings of "
            f"this field and verify that it is read/write for your profile or permission set.",
            protected,
        )
    checked: dict[str, Any] = {}
    for name, (described, value) in named.items():
        coerced = coerce_value(described, value)
        if coerced is not None and described.type == "reference":
            coerced = _reference(store, described, coerced)
        checked[name] = coerced
    return checked


def _require(obj: ObjectDescribe, row: Mapping[str, Any]) -> None:
    missing = [f.name for f in obj.fields if not f.nillable and f.name not in SYSTEM_FIELDS and row.get(f.name) is None]
    if missing:
        raise WriteError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)


# --- writes ----------------------------------------------------------------------------------------

Clock = Callable[[], dt.datetime]


def create_record(
    store: Sandbox, object_name: str, values: Mapping[str, Any], *, now: Clock = utc_now, history: bool = True
) -> str:
    """Create a record; returns its id. Raises :class:`WriteError` as Salesforce would refuse it.

    `history` off skips the ``CaseHistory__c`` rows a new case gets (a data load brings its own).
    """
    obj = writable_object(object_name)
    with store.atomic():
        checked = _checked_values(store, obj, values)
        row: dict[str, Any] = {f.name: None for f in obj.fields}
        row.update(DEFAULTS.get(obj.name, {}))
        row.update(checked)
        moment = now()
        row["Id"] = _new_id(store, obj.name)
        row["CreatedDate"] = row["LastModifiedDate"] = moment
        if obj.name in AUTO_NUMBERS:
            field_name, width = AUTO_NUMBERS[obj.name]
            row[field_name] = _next_number(store, obj.name, field_name, width)
        if obj.name in COMPOUND_NAMES:
            row["Name"] = " ".join(part for part in (row.get("FirstName"), row.get("LastName")) if part) or None
        if obj.name == "Case" and row.get("Status") == "Closed":
            row["ClosedDate"] = moment
        _require(obj, row)
        store.insert_row(obj.name, row)
        if obj.name == "Case" and history:
            _history(store, row["Id"], "Case Creation", None, None, moment)
            _history(store, row["Id"], "Owner Assignment", None, row["OwnerId"], moment)
            if row["Status"] == "Closed":
                _history(store, row["Id"], "Case Closed", None, None, moment)
        return row["Id"]


def _existing(store: Sandbox, obj: ObjectDescribe, record_id: Any) -> dict[str, Any]:
    if not isinstance(record_id, str) or not is_valid_id(record_id) or object_of(record_id) != obj.name:
        raise not_found()
    found = store.read(obj.name, to_18(record_id))
    if found is None:
        raise entity_deleted() if store.was_deleted(obj.name, to_18(record_id)) else not_found()
    return found


def update_record(
    store: Sandbox,
    object_name: str,
    record_id: str,
    values: Mapping[str, Any],
    *,
    now: Clock = utc_now,
    history: bool = True,
) -> None:
    """Set fields of a record (``None`` clears a field). Raises :class:`WriteError`.

    `history` off skips the ``CaseHistory__c`` rows of an owner or status change.
    """
    obj = writable_object(object_name)
    with store.atomic():
        before = _existing(store, obj, record_id)
        checked = _checked_values(store, obj, values)
        after = {**before, **checked}
        if obj.name in COMPOUND_NAMES and ({"FirstName", "LastName"} & checked.keys()):
            after["Name"] = " ".join(part for part in (after.get("FirstName"), after.get("LastName")) if part)
        moment = now()
        after["LastModifiedDate"] = moment  # every update stamps the record, even one changing no value
        if obj.name == "Case" and after["Status"] != before["Status"]:
            after["ClosedDate"] = moment if after["Status"] == "Closed" else None
        _require(obj, after)
        changed = {name: value for name, value in after.items() if before.get(name) != value}
        if changed:  # empty only when the clock repeats the stored time and no value changes
            store.update_row(obj.name, before["Id"], changed)
        if obj.name == "Case" and history:
            if "OwnerId" in changed:
                _history(store, before["Id"], "Owner Assignment", before["OwnerId"], after["OwnerId"], moment)
            if "Status" in changed and after["Status"] == "Closed":
                _history(store, before["Id"], "Case Closed", None, None, moment)


def delete_record(store: Sandbox, object_name: str, record_id: str) -> None:
    """Delete a record and the children that go with it (a case's history and emails).

    Other records that still point at it block the delete (``DELETE_FAILED``), as Salesforce
    refuses to delete a contact or account that cases still use.
    """
    obj = writable_object(object_name)
    with store.atomic():
        before = _existing(store, obj, record_id)
        for child in obj.child_relationships:
            table = store.tables(child.child_object).visible
            ids = [
                row[0]
                for row in store.conn.execute(select(table.c.Id).where(table.c[child.field] == before["Id"]).limit(6))
            ]
            if not ids:
                continue
            if (child.child_object, child.field) in CASCADE:
                for child_id in store.conn.execute(select(table.c.Id).where(table.c[child.field] == before["Id"])):
                    store.delete_row(child.child_object, child_id[0])
                continue
            child_label = find_object(child.child_object).label  # type: ignore[union-attr]
            raise WriteError(
                "DELETE_FAILED",
                f"Your attempt to delete {_display_name(obj, before)} could not be completed because it is "
                f"associated with the following {child_label.lower()} records: {', '.join(ids[:5])}. "
                f"Remove the associations and try again.",
                [],
            )
        store.delete_row(obj.name, before["Id"])


def upsert_record(
    store: Sandbox,
    object_name: str,
    external_field: str,
    external_value: str,
    values: Mapping[str, Any],
    *,
    now: Clock = utc_now,
    history: bool = True,
) -> tuple[str, bool]:
    """Update the record whose `external_field` equals `external_value`, or create it.

    Returns (id, created). The field must be an id lookup (``Id`` or a unique name field such
    as ``CaseNumber``); several matches are ``MULTIPLE_CHOICES`` (HTTP 300).
    """
    obj = writable_object(object_name)
    described = obj.field(external_field)
    if described is None or not (described.name == "Id" or described.name_field or described.type == "email"):
        raise WriteError(
            "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {external_field}", [], 404
        )
    with store.atomic():
        table = store.tables(obj.name).visible
        lookup = to_18(external_value) if described.name == "Id" and is_valid_id(external_value) else external_value
        ids = [
            row[0] for row in store.conn.execute(select(table.c.Id).where(table.c[described.name] == lookup).limit(2))
        ]
        if len(ids) > 1:
            raise WriteError(
                "MULTIPLE_CHOICES", f"More than one record found for {described.name}: {external_value}", [], 300
            )
        if ids:
            update_record(store, obj.name, ids[0], values, now=now, history=history)
            return ids[0], False
        if described.name == "Id":
            raise not_found()
        body = dict(values)
        if not is_platform_field(obj.name, described.name):
            body[described.name] = external_value
        return create_record(store, obj.name, body, now=now, history=history), True


def _display_name(obj: ObjectDescribe, row: Mapping[str, Any]) -> str:
    for described in obj.name_fields:
        if row.get(described.name):
            return str(row[described.name])
    return str(row["Id"])


def _history(store: Sandbox, case_id: str, what: str, old: str | None, new: str | None, at: dt.datetime) -> None:
    store.insert_row(
        "CaseHistory__c",
        {
            "Id": _new_id(store, "CaseHistory__c"),
            "CaseId__c": case_id,
            "Field__c": what,
            "OldValue__c": old,
            "NewValue__c": new,
            "CreatedDate": at,
            "LastModifiedDate": at,
        },
    )


def _new_id(store: Sandbox, object_name: str) -> str:
    """A fresh record id, deterministic per sandbox (sequence numbers no generated org reaches)."""
    while True:
        store.created += 1
        candidate = make_id(object_name, FIRST_NEW_SEQUENCE + store.created)
        if store.read(object_name, candidate) is None and not store.was_deleted(object_name, candidate):
            return candidate


def _next_number(store: Sandbox, object_name: str, field_name: str, width: int) -> str:
    table = store.tables(object_name).visible
    highest = store.conn.execute(select(func.max(table.c[field_name]))).scalar()
    number = int(highest) + 1 if highest and str(highest).isdigit() else 1
    return f"{number:0{width}d}"
