"""``/services/data``: versions, query, queryAll, search, sobjects, describe, records, limits.

Every resource under ``/services/data/vXX.X/`` needs a bearer token. Queries run through the
SOQL/SOSL engine on a connection that sees what the token may see (the org, or the org plus
the token's sandbox under ``serve --writable``); writes are in :mod:`crm_core.api.write_routes`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from crm_core.api.batches import QueryRunner, batch_size_from_header
from crm_core.api.context import ApiContext, Context, Owner, check_version, supported_versions
from crm_core.api.describe import describe_global, describe_object, object_info
from crm_core.api.errors import ApiError, not_found
from crm_core.api.responses import DAILY_API_REQUESTS, SalesforceJSON
from crm_core.api.tokens import TokenOwner
from crm_core.org.ids import is_valid_id, object_of, to_18
from crm_core.org.metadata import ObjectDescribe, find_object
from crm_core.query import QueryError, run_soql, run_sosl
from crm_core.query.parameterized import from_query_string, run_parameterized_search

ENGINE_VERSION = "60.0"  # the version in the attribute urls the query engine writes
ENGINE_VERSION_PREFIX = f"/services/data/v{ENGINE_VERSION}/"
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RELEASES = ("Winter", "Spring", "Summer")

versions_router = APIRouter()
router = APIRouter(prefix="/services/data/v{version}", dependencies=[Depends(check_version)])


def _release(version: str) -> str:
    number = int(version.split(".")[0])
    return f"{_RELEASES[(number - 20) % 3]} '{11 + (number - 20) // 3:02d}"


@versions_router.get("/services/data")
@versions_router.get("/services/data/")
def versions() -> Response:
    """Every API version served, oldest first (no token needed, as on Salesforce)."""
    return SalesforceJSON(
        [{"label": _release(v), "url": f"/services/data/v{v}", "version": v} for v in supported_versions()]
    )


@router.get("")
@router.get("/")
def resources(version: str, _owner: Owner) -> Response:
    """The resources of one version."""
    base = f"/services/data/v{version}"
    return SalesforceJSON(
        {
            name: f"{base}/{name}"
            for name in ("limits", "parameterizedSearch", "query", "queryAll", "search", "sobjects")
        }
    )


def _retarget(value: Any, version: str) -> Any:
    """Rewrite the engine's attribute urls to the version the client asked for."""
    if version == ENGINE_VERSION:
        return value
    if isinstance(value, list):
        for item in value:
            _retarget(item, version)
    elif isinstance(value, dict):
        attributes = value.get("attributes")
        if isinstance(attributes, dict) and isinstance(attributes.get("url"), str):
            url = attributes["url"]
            if url.startswith(ENGINE_VERSION_PREFIX):
                attributes["url"] = f"/services/data/v{version}/" + url[len(ENGINE_VERSION_PREFIX) :]
        for item in value.values():
            if isinstance(item, dict | list):
                _retarget(item, version)
    return value


def _soql_runner(ctx: ApiContext, version: str, owner: TokenOwner) -> QueryRunner:
    def run(query: str, today: dt.date) -> dict[str, Any]:
        try:
            with ctx.writes.reading(owner.token_hash) as conn:
                result = run_soql(conn, query, today=today)
        except QueryError as exc:
            raise ApiError(400, exc.error_code, exc.message) from exc
        return _retarget(result, version)

    return run


def first_query_batch(
    ctx: ApiContext, owner: TokenOwner, version: str, q: str | None, include_deleted: bool, options: str | None
) -> dict[str, Any]:
    """Run a SOQL query for `owner`; its first batch (``nextRecordsUrl`` when there is more)."""
    if not q or not q.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    today = ctx.settings.query_today()
    result = _soql_runner(ctx, version, owner)(q, today)
    return ctx.batches.first(
        result,
        query=q,
        today=today,
        user_id=owner.user_id,
        include_deleted=include_deleted,
        batch_size=batch_size_from_header(options),
        version=version,
    )


def _query_routes(resource: str, include_deleted: bool) -> None:
    """``GET {resource}?q=`` and ``GET {resource}/{locator}`` (``query`` and ``queryAll``)."""

    @router.get(f"/{resource}", name=resource)
    @router.get(f"/{resource}/", include_in_schema=False)
    def run(
        version: str,
        owner: Owner,
        ctx: Context,
        q: Annotated[str | None, Query()] = None,
        sforce_query_options: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Run a SOQL query; more than one batch continues at ``nextRecordsUrl``."""
        return SalesforceJSON(first_query_batch(ctx, owner, version, q, include_deleted, sforce_query_options))

    @router.get(f"/{resource}/{{locator}}", name=f"{resource}_more")
    def more(version: str, locator: str, owner: Owner, ctx: Context) -> Response:
        """The next batch of a query."""
        runner = _soql_runner(ctx, version, owner)
        return SalesforceJSON(ctx.batches.next(locator, user_id=owner.user_id, version=version, run=runner))


# queryAll also returns deleted and archived records on Salesforce; the local org has none.
_query_routes("query", include_deleted=False)
_query_routes("queryAll", include_deleted=True)


@router.get("/search")
@router.get("/search/")
def search(
    version: str,
    owner: Owner,
    ctx: Context,
    q: Annotated[str | None, Query()] = None,
) -> Response:
    """Run a SOSL search: ``{"searchRecords": [...]}``."""
    if not q or not q.strip():
        raise ApiError(400, "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces.")
    return _searched(version, owner, ctx, lambda conn: run_sosl(conn, q))


@router.get("/parameterizedSearch")
@router.get("/parameterizedSearch/")
def parameterized_search_get(version: str, owner: Owner, ctx: Context, request: Request) -> Response:
    """Parameterized search from query parameters (``q``, ``sobject``, ``Account.fields``, ...)."""
    params = request.query_params
    body = from_query_string(dict(params), params.getlist("sobject"))
    return _searched(version, owner, ctx, lambda conn: run_parameterized_search(conn, body))


@router.post("/parameterizedSearch")
@router.post("/parameterizedSearch/")
def parameterized_search_post(version: str, owner: Owner, ctx: Context, body: Annotated[Any, Body()]) -> Response:
    """Parameterized search from a JSON body (``q``, ``sobjects``, ``overallLimit``, ...)."""
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return _searched(version, owner, ctx, lambda conn: run_parameterized_search(conn, body))


def _searched(version: str, owner: TokenOwner, ctx: ApiContext, run: Callable[[Any], dict]) -> Response:
    """A search's answer on the connection the token may read, or its Salesforce error."""
    try:
        with ctx.writes.reading(owner.token_hash) as conn:
            result = run(conn)
    except QueryError as exc:
        raise ApiError(400, exc.error_code, exc.message) from exc
    return SalesforceJSON(_retarget(result, version))


@router.get("/limits")
@router.get("/limits/")
def limits(_owner: Owner, ctx: Context) -> Response:
    """Org limits; only ``DailyApiRequests`` is counted (per server process, never enforced)."""
    used = ctx.usage.count
    return SalesforceJSON(
        {
            "DailyApiRequests": {"Max": DAILY_API_REQUESTS, "Remaining": max(0, DAILY_API_REQUESTS - used)},
            "DailyBulkApiBatches": {"Max": 0, "Remaining": 0},
            "DailyBulkV2QueryJobs": {"Max": 0, "Remaining": 0},
            "DataStorageMB": {"Max": 0, "Remaining": 0},
            "SingleEmail": {"Max": 0, "Remaining": 0},
        }
    )


@router.get("/sobjects")
@router.get("/sobjects/")
def sobjects(version: str, _owner: Owner) -> Response:
    """Describe global: every object of the org."""
    return SalesforceJSON(describe_global(version))


def object_of_path(name: str) -> ObjectDescribe:
    """The object named in a path (any letter case); 404 otherwise."""
    obj = find_object(name)
    if obj is None:
        raise not_found()
    return obj


@router.get("/sobjects/{object_name}")
@router.get("/sobjects/{object_name}/")
def sobject(version: str, object_name: str, _owner: Owner) -> Response:
    """Basic information about one object."""
    return SalesforceJSON(object_info(object_of_path(object_name), version))


@router.get("/sobjects/{object_name}/describe")
@router.get("/sobjects/{object_name}/describe/")
def describe(version: str, object_name: str, _owner: Owner) -> Response:
    """Full describe of one object: fields and child relationships."""
    return SalesforceJSON(describe_object(object_of_path(object_name), version))


def record_id_of(obj: ObjectDescribe, record_id: str) -> str:
    """The 18-character id of `record_id` if it is a well-formed id of `obj`; 404 otherwise."""
    if not is_valid_id(record_id):
        raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
    full = to_18(record_id)
    if object_of(full) != obj.name:
        raise not_found()
    return full


def field_names(obj: ObjectDescribe, fields: str | None) -> list[str]:
    """The fields a ``fields=`` parameter names (all when empty); 400 ``INVALID_FIELD`` otherwise."""
    if fields is None or not fields.strip():
        return [f.name for f in obj.fields]
    names = []
    for raw in fields.split(","):
        name = raw.strip()
        described = obj.field(name) if _FIELD_NAME.match(name) else None
        if described is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
        if described.name not in names:
            names.append(described.name)
    return names


def fetch_record(
    ctx: ApiContext, owner: TokenOwner, obj: ObjectDescribe, record_id: str, fields: list[str], version: str
) -> dict[str, Any]:
    """One record as the token sees it (404 when there is none)."""
    # Field names come from the describe and the id matched the id pattern; the engine binds values.
    soql = f"SELECT {', '.join(fields)} FROM {obj.name} WHERE Id = '{record_id}'"  # noqa: S608 - SOQL, not SQL
    records = _soql_runner(ctx, version, owner)(soql, ctx.settings.query_today()).get("records", [])
    if not records:
        raise not_found()
    return records[0]


@router.get("/sobjects/{object_name}/{record_id}")
def record(
    version: str,
    object_name: str,
    record_id: str,
    owner: Owner,
    ctx: Context,
    fields: Annotated[str | None, Query()] = None,
) -> Response:
    """One record by its 15- or 18-character id; ``fields=`` picks the fields."""
    obj = object_of_path(object_name)
    return SalesforceJSON(
        fetch_record(ctx, owner, obj, record_id_of(obj, record_id), field_names(obj, fields), version)
    )
