"""Bulk API 2.0 ingest jobs: the job's CSV run row by row through :mod:`crm_core.writes`.

A job is a row of the app store (:class:`~crm_core.store.models.ApiIngestJob`): its settings,
the uploaded CSV, its state and, once processed, its three result files. :func:`run_job` turns
one CSV into writes and results, as Salesforce does:

- the header names fields of the job's object (any letter case); an unknown or repeated name,
  a row whose value count differs from the header's, or a CSV that cannot be parsed fails the
  whole job before any row is written (``Failed`` with ``errorMessage``);
- an empty value leaves the field unset, ``#N/A`` sets it to null;
- each row is its own unit: a refused row is a line of ``failedResults`` (``sf__Error`` is
  ``CODE:message:fields --``), the others are written; ``successfulResults`` echo every
  uploaded value after ``sf__Id`` and ``sf__Created``.

A job is a data load: it writes no ``CaseHistory__c`` rows of its own (the load brings the
history it has).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_core.org.metadata import ObjectDescribe
from crm_core.sandbox import Sandbox
from crm_core.writes import WriteError, create_record, delete_record, update_record, upsert_record, writable_object

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
NULL_VALUE = "#N/A"
"""A CSV value that sets a field to null (an empty value leaves it as it is)."""


class JobFailedError(Exception):
    """The job as a whole cannot be processed (its ``errorMessage``, e.g. ``InvalidBatch : ...``)."""


@dataclass
class JobResults:
    """What processing a job produced: three CSV files and the counts."""

    successful: str
    failed: str
    unprocessed: str
    processed: int
    failed_count: int


def _read_csv(data: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a job's CSV, checked for shape (JobFailedError otherwise)."""
    reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""), delimiter=delimiter, strict=True)
    try:
        lines = [row for row in reader if row]  # a blank line (e.g. a trailing one) is no record
    except csv.Error as exc:
        raise JobFailedError(f"InvalidBatch : Failed to parse CSV. Line {reader.line_num}: {exc}") from None
    if not lines:
        raise JobFailedError("InvalidBatch : The CSV has no header row")
    header, rows = lines[0], lines[1:]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise JobFailedError(
                f"InvalidBatch : Record {number - 1} (line {number}) has {len(row)} values; "
                f"the header has {len(header)} columns"
            )
    return header, rows


def _columns(obj: ObjectDescribe, header: list[str], operation: str, external_id: str | None) -> list[str]:
    """The header as canonical field names, checked against the object and the operation."""
    names: list[str] = []
    for column in header:
        described = obj.field(column.strip())
        if described is None:
            raise JobFailedError(f"InvalidBatch : Field name not found : {column}")
        if described.name in names:
            raise JobFailedError(f"InvalidBatch : Duplicate field name: {column}")
        names.append(described.name)
    if operation in {"delete", "hardDelete"} and names != ["Id"]:
        raise JobFailedError(f"InvalidBatch : The '{operation}' batch must contain only the 'Id' field")
    if operation == "update" and "Id" not in names:
        raise JobFailedError("InvalidBatch : Field name not found : Id")
    if operation == "upsert" and external_id not in names:
        raise JobFailedError(f"InvalidBatch : Field name not found : {external_id}")
    return names


def _values(names: list[str], row: list[str]) -> dict[str, Any]:
    """A row as field values: empty values left out, ``#N/A`` as null."""
    return {name: (None if value == NULL_VALUE else value) for name, value in zip(names, row, strict=True) if value}


def _error_text(exc: WriteError) -> str:
    return f"{exc.error_code}:{exc.message}:{','.join(exc.fields)} --"


def _writer(store: Sandbox, obj: ObjectDescribe, operation: str, external_id: str | None) -> Callable:
    """The write of one row: its values in, (record id, created) out; WriteError if refused."""

    def insert(values: dict[str, Any]) -> tuple[str, bool]:
        return create_record(store, obj.name, values, history=False), True

    def update(values: dict[str, Any]) -> tuple[str, bool]:
        record_id = values.pop("Id", None)
        if not record_id:
            raise WriteError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        update_record(store, obj.name, record_id, values, history=False)
        return record_id, False

    def upsert(values: dict[str, Any]) -> tuple[str, bool]:
        assert external_id is not None
        key = values.pop(external_id, None)
        if not key:
            raise WriteError("MISSING_ARGUMENT", f"{external_id} not specified", [external_id])
        return upsert_record(store, obj.name, external_id, key, values, history=False)

    def remove(values: dict[str, Any]) -> tuple[str, bool]:
        record_id = values.get("Id")
        if not record_id:
            raise WriteError("MISSING_ARGUMENT", "Id not specified in a delete call", ["Id"])
        delete_record(store, obj.name, record_id)
        return record_id, False

    return {"insert": insert, "update": update, "upsert": upsert}.get(operation, remove)


def run_job(
    store: Sandbox,
    object_name: str,
    operation: str,
    external_id: str | None,
    data: str,
    *,
    delimiter: str = ",",
    line_ending: str = "\n",
) -> JobResults:
    """Write every row of `data` (CSV) into `store`; JobFailedError when the job as a whole is refused.

    `external_id` is the upsert's field, by its canonical name.
    """
    obj = writable_object(object_name)
    header, rows = _read_csv(data, delimiter)
    names = _columns(obj, header, operation, external_id)
    write = _writer(store, obj, operation, external_id)
    files = {kind: io.StringIO() for kind in ("successful", "failed", "unprocessed")}
    writers = {
        kind: csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
        for kind, out in files.items()
    }
    writers["successful"].writerow(["sf__Id", "sf__Created", *header])
    writers["failed"].writerow(["sf__Id", "sf__Error", *header])
    writers["unprocessed"].writerow(header)
    failed = 0
    with store.atomic():  # one transaction; each row is a savepoint of its own (writes nest)
        for row in rows:
            values = _values(names, row)
            try:
                record_id, created = write(values)
            except WriteError as exc:
                failed += 1
                given_id = values.get("Id") if operation != "insert" else None
                writers["failed"].writerow([given_id or "", _error_text(exc), *row])
                continue
            writers["successful"].writerow([record_id, "true" if created else "false", *row])
    return JobResults(
        successful=files["successful"].getvalue(),
        failed=files["failed"].getvalue(),
        unprocessed=files["unprocessed"].getvalue(),
        processed=len(rows),
        failed_count=failed,
    )


def unprocessed_rows(data: str | None, delimiter: str, line_ending: str) -> str:
    """A job's uploaded rows as the unprocessed-records file (the job never ran them)."""
    if not data:
        return ""
    try:
        header, rows = _read_csv(data, delimiter)
    except JobFailedError:
        return data
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
