"""The tool machinery: a tool is a function plus its OpenAI-format JSON schema, kept side by side.

`Tool.run(ctx, arguments)` validates the arguments against the schema, runs the function, and
returns the observation as a string. It never raises: bad arguments and failures become
``Error: ...`` strings that tell the agent what to fix; query errors read ``ERRORCODE: message``.
Reads go through the SOQL/SOSL engine; writes (workflow tasks) through :mod:`crm_core.writes`
into the episode's sandbox.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator
from sqlalchemy import Connection

from crm_core.org.ids import is_valid_id, object_of, to_18
from crm_core.periods import format_when, parse_when
from crm_core.query import QueryError, run_query
from crm_core.sandbox import Sandbox

log = logging.getLogger(__name__)

DATE_HELP = "a date, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"


class ToolArgumentError(ValueError):
    """A bad argument; the message says which one and what to send instead."""


class ToolQueryError(Exception):
    """A SOQL/SOSL error from the engine, reported to the agent as ``ERRORCODE: message``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class ToolContext:
    """What a tool runs against: a connection to the org, the date of "today", and the sandbox
    that takes writes (None: read-only; then `conn` is read-only too, else the sandbox's)."""

    conn: Connection
    today: dt.date | None = None
    sandbox: Sandbox | None = None


ToolFunction = Callable[..., Any]


@dataclass(frozen=True)
class Tool:
    """One agent tool: name, description, JSON-schema parameters, and the function behind them."""

    name: str
    description: str
    parameters: dict[str, Any]
    function: ToolFunction = field(repr=False)

    def schema(self) -> dict[str, Any]:
        """The tool in OpenAI's function-calling format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def call(self, ctx: ToolContext, arguments: dict[str, Any]) -> Any:
        """Validate and run; returns the Python result and raises on bad input (see :meth:`run`)."""
        if not isinstance(arguments, dict):
            raise ToolArgumentError(f"arguments must be a JSON object, got {type(arguments).__name__}")
        errors = sorted(Draft7Validator(self.parameters).iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            raise ToolArgumentError(_describe_schema_error(errors[0], self.parameters))
        return self.function(ctx, **arguments)

    def run(self, ctx: ToolContext, arguments: dict[str, Any]) -> str:
        """The observation for the agent; never raises."""
        try:
            return observation(self.call(ctx, arguments))
        except ToolArgumentError as exc:
            return f"Error: {exc}"
        except ToolQueryError as exc:
            return f"{exc.error_code}: {exc.message}"
        except Exception as exc:  # a tool must never crash the agent loop
            log.exception("tool %s failed", self.name)
            return f"Error: {self.name} failed unexpectedly ({exc.__class__.__name__}); check the arguments"


def _describe_schema_error(error: Any, schema: dict[str, Any]) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path).lstrip(".")
    allowed = ", ".join(sorted(schema.get("properties", {})))
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return f"missing required argument '{missing}' (arguments: {allowed})"
    if error.validator == "additionalProperties":
        return f"{error.message}; the arguments are: {allowed}"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"argument '{path}' must be of type {wanted}, got {json.dumps(error.instance)[:60]}"
    if error.validator == "enum":
        return f"argument '{path}' must be one of {', '.join(map(str, error.validator_value))}"
    return f"argument '{path or 'arguments'}': {error.message}"


def observation(result: Any) -> str:
    """A tool result as the agent sees it: strings as they are, anything else as JSON."""
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False, default=str)


TOOLS: dict[str, Tool] = {}


def tool(
    name: str, description: str, properties: dict[str, Any], required: tuple[str, ...] = ()
) -> Callable[[ToolFunction], ToolFunction]:
    """Register the decorated function as the tool `name` with these JSON-schema properties."""

    def register(function: ToolFunction) -> ToolFunction:
        parameters = {
            "type": "object",
            "properties": properties,
            "required": list(required),
            "additionalProperties": False,
        }
        TOOLS[name] = Tool(name=name, description=description, parameters=parameters, function=function)
        return function

    return register


# --- argument helpers shared by the tools -------------------------------------------------------


def date_arg(name: str, value: str) -> dt.datetime:
    """Parse a date argument or raise a ToolArgumentError naming it."""
    try:
        return parse_when(value)
    except ValueError:
        raise ToolArgumentError(f"argument '{name}' = {value!r} is not {DATE_HELP}") from None


def period_args(start_date: str, end_date: str) -> tuple[dt.datetime, dt.datetime]:
    """Parse a half-open period [start_date, end_date); end must be after start."""
    start, end = date_arg("start_date", start_date), date_arg("end_date", end_date)
    if end <= start:
        raise ToolArgumentError(f"end_date {end_date} must be after start_date {start_date} (periods are [start, end))")
    return start, end


def id_arg(name: str, value: str, expected_object: str) -> str:
    """Validate a record id of `expected_object` (15 or 18 characters); returns the 18-character id."""
    if not is_valid_id(value):
        raise ToolArgumentError(f"argument '{name}' = {value!r} is not a Salesforce record id")
    if object_of(value) != expected_object:
        actual = object_of(value) or "an unknown object"
        raise ToolArgumentError(f"argument '{name}' = {value!r} is an id of {actual}, not of {expected_object}")
    return to_18(value)


def id_list_arg(name: str, values: list[str], expected_object: str) -> list[str]:
    """Validate a list of record ids (each named by its position in the message)."""
    return [id_arg(f"{name}[{i}]", value, expected_object) for i, value in enumerate(values)]


def soql_datetime(value: dt.datetime) -> str:
    """A SOQL datetime literal."""
    return format_when(value)


IN_CHUNK = 500
"""Values per SOQL ``IN`` list. Longer lists are sent as several queries, as a careful agent
would: 500 ids are about 11,000 characters, within Salesforce's 100,000-character statement
limit and, over REST, its 16,384-byte URI limit once encoded."""


def soql_in(values: list[str]) -> str:
    """A SOQL IN list of validated ids (ids contain only letters and digits)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def soql_in_chunks(values: list[str]) -> list[str]:
    """`values` as SOQL IN lists of at most :data:`IN_CHUNK` ids each (one empty list for none)."""
    return [soql_in(values[i : i + IN_CHUNK]) for i in range(0, len(values), IN_CHUNK)] or [soql_in([])]


def soql_string(value: str) -> str:
    """A quoted SOQL string literal with backslash escapes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def strip_attributes(value: Any) -> Any:
    """Records without their ``attributes`` (nested parents and child result sets included)."""
    if isinstance(value, dict):
        return {
            k: strip_attributes(v) if isinstance(v, dict | list) else v for k, v in value.items() if k != "attributes"
        }
    if isinstance(value, list):
        return [strip_attributes(v) if isinstance(v, dict | list) else v for v in value]
    return value


def run_engine(ctx: ToolContext, text: str) -> dict[str, Any]:
    """Run SOQL or SOSL through the engine; engine errors become :class:`ToolQueryError`."""
    try:
        return run_query(ctx.conn, text, today=ctx.today)
    except QueryError as exc:
        raise ToolQueryError(exc.error_code, exc.message) from None


def soql_records(
    ctx: ToolContext, fields: str, sobject: str, where: str = "", order_by: str = "", limit: int | None = None
) -> list[dict[str, Any]]:
    """The records (without ``attributes``) of the SOQL query built from these clauses.

    The clauses hold only validated ids, dates and fixed field names; the engine binds every
    literal as a parameter, so nothing here reaches SQL as text.
    """
    soql = f"SELECT {fields} FROM {sobject}"  # noqa: S608 - SOQL for the engine, not SQL
    if where:
        soql += f" WHERE {where}"
    if order_by:
        soql += f" ORDER BY {order_by}"
    if limit is not None:
        soql += f" LIMIT {limit}"
    return strip_attributes(run_engine(ctx, soql).get("records", []))


def soql_records_in(
    ctx: ToolContext, fields: str, sobject: str, where: Callable[[str], str], values: list[str], order_by: str = ""
) -> list[dict[str, Any]]:
    """The records of ``where(in_list)`` over `values`, :data:`IN_CHUNK` at a time, concatenated."""
    records: list[dict[str, Any]] = []
    for in_list in soql_in_chunks(values):
        records += soql_records(ctx, fields, sobject, where(in_list), order_by)
    return records


def case_records_arg(name: str, records: list[Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Validate a list of records passed back by the agent: objects that have `keys`."""
    checked = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ToolArgumentError(f"{name}[{index}] must be a record object, got {type(record).__name__}")
        missing = [key for key in keys if key not in record]
        if missing:
            raise ToolArgumentError(
                f"{name}[{index}] lacks {', '.join(missing)}: pass the records as get_cases returned them"
            )
        checked.append(record)
    return checked


def record_datetime(name: str, index: int, record: dict[str, Any], key: str) -> dt.datetime | None:
    """A datetime field of a passed-back record (REST format or our date formats); None if null."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolArgumentError(f"{name}[{index}].{key} must be a date string, got {value!r}")
    try:
        return parse_when(value)
    except ValueError:
        raise ToolArgumentError(f"{name}[{index}].{key} = {value!r} is not {DATE_HELP}") from None


def mean_durations(name: str, records: list[dict[str, Any]], group_field: str, unit_seconds: float) -> dict[str, float]:
    """Mean ClosedDate - CreatedDate (in units of `unit_seconds`) per value of `group_field`.

    Records without either date or without a group value are skipped (open cases, unknown state).
    """
    durations: dict[str, list[float]] = {}
    for index, record in enumerate(records):
        created = record_datetime(name, index, record, "CreatedDate")
        closed = record_datetime(name, index, record, "ClosedDate")
        if created is None or closed is None or not record[group_field]:
            continue
        if closed < created:
            raise ToolArgumentError(f"{name}[{index}]: ClosedDate is before CreatedDate")
        durations.setdefault(record[group_field], []).append((closed - created).total_seconds() / unit_seconds)
    # fsum: the exactly rounded sum, so the mean does not depend on the order of the records.
    return {key: math.fsum(values) / len(values) for key, values in sorted(durations.items())}
