"""Writes over REST: ``sobjects`` create/update/delete/upsert, ``composite/sobjects``, ``composite``.

A read-only server (the default) answers every write with 403 ``INSUFFICIENT_ACCESS_OR_READONLY``
after checking that the object and record exist. Under ``serve --writable`` each token writes
into its own sandbox (``--writable=shared``: into the org), through :mod:`crm_core.writes`, so the
validation, the errors and the system fields are those of the agent tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from crm_core.api.context import ApiContext, Context, Owner, check_version
from crm_core.api.data_routes import fetch_record, field_names, first_query_batch, object_of_path, record_id_of
from crm_core.api.errors import ApiError, read_only
from crm_core.api.responses import SalesforceJSON
from crm_core.api.tokens import TokenOwner
from crm_core.org.ids import is_valid_id, object_of
from crm_core.sandbox import Sandbox
from crm_core.writes import WriteError, create_record, delete_record, update_record, upsert_record

router = APIRouter(prefix="/services/data/v{version}", dependencies=[Depends(check_version)])
MAX_COLLECTION = 200  # records per composite/sobjects request, as on Salesforce
MAX_SUBREQUESTS = 25  # subrequests per composite request
_NO_ACCESS = (
    "You do not have the level of access necessary to perform the operation you requested. "
    "Please contact the owner of the record or your administrator if access is necessary."
)
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([A-Za-z0-9_.\[\]]+)\}")
_ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class _UndoAllError(Exception):
    """Raised inside an allOrNone request that had a failure, to roll all of it back."""


@dataclass
class Outcome:
    """What one write answered: HTTP status, body and headers (also a composite subresponse)."""

    status: int
    body: Any = None
    location: str | None = None

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status)
        return SalesforceJSON(self.body, status_code=self.status)


def _failure(exc: WriteError | ApiError) -> Outcome:
    if isinstance(exc, WriteError):
        return Outcome(exc.status, [exc.rest_body()])
    return Outcome(exc.status, exc.body())


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from None


def _store(ctx: ApiContext, owner: TokenOwner) -> Sandbox:
    if not ctx.writes.writable:
        raise read_only(_NO_ACCESS)
    return ctx.writes.store(owner.token_hash)


async def _answer(action: Callable[[], Outcome]) -> Response:
    try:
        return (await run_in_threadpool(action)).response()
    except WriteError as exc:
        return _failure(exc).response()


# --- the operations (shared by the single routes and composite) ---------------------------------


def _create(store: Sandbox, version: str, object_name: str, body: Any) -> Outcome:
    obj = object_of_path(object_name)
    record_id = create_record(store, obj.name, _fields_of(body))
    location = f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"
    return Outcome(201, {"id": record_id, "success": True, "errors": []}, location)


def _update(store: Sandbox, object_name: str, record_id: str, body: Any) -> Outcome:
    obj = object_of_path(object_name)
    update_record(store, obj.name, record_id_of(obj, record_id), _fields_of(body))
    return Outcome(204)


def _delete(store: Sandbox, object_name: str, record_id: str) -> Outcome:
    obj = object_of_path(object_name)
    delete_record(store, obj.name, record_id_of(obj, record_id))
    return Outcome(204)


def _upsert(store: Sandbox, version: str, object_name: str, field: str, value: str, body: Any) -> Outcome:
    obj = object_of_path(object_name)
    record_id, created = upsert_record(store, obj.name, field, value, _fields_of(body))
    location = f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"
    return Outcome(
        201 if created else 200, {"id": record_id, "success": True, "errors": [], "created": created}, location
    )


def _fields_of(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WriteError("JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
    return body


# --- sObject rows ----------------------------------------------------------------------------------


@router.post("/sobjects/{object_name}")
@router.post("/sobjects/{object_name}/")
async def create(version: str, object_name: str, request: Request, owner: Owner, ctx: Context) -> Response:
    """Create a record: 201 ``{"id", "success", "errors"}``."""
    object_of_path(object_name)
    store = _store(ctx, owner)
    body = await _json_body(request)
    return await _answer(lambda: _create(store, version, object_name, body))


@router.api_route("/sobjects/{object_name}/{record_id}", methods=["PATCH", "DELETE", "POST"])
async def change(
    version: str, object_name: str, record_id: str, request: Request, owner: Owner, ctx: Context
) -> Response:
    """Update (PATCH) or delete (DELETE) a record: 204. Read-only servers refuse with 403."""
    obj = object_of_path(object_name)
    if not ctx.writes.writable or request.method == "POST":
        await run_in_threadpool(fetch_record, ctx, owner, obj, record_id_of(obj, record_id), ["Id"], version)
        raise read_only()
    store = _store(ctx, owner)
    if request.method == "DELETE":
        return await _answer(lambda: _delete(store, object_name, record_id))
    body = await _json_body(request)
    return await _answer(lambda: _update(store, object_name, record_id, body))


@router.patch("/sobjects/{object_name}/{field}/{value}")
async def upsert(
    version: str, object_name: str, field: str, value: str, request: Request, owner: Owner, ctx: Context
) -> Response:
    """Upsert by an id-lookup field: 201 created or 200 updated (``created`` says which)."""
    object_of_path(object_name)
    store = _store(ctx, owner)
    body = await _json_body(request)
    return await _answer(lambda: _upsert(store, version, object_name, field, value, body))


# --- composite/sobjects (collections) ------------------------------------------------------------


def _collection(store: Sandbox, all_or_none: bool, items: list[Any], write: Callable[[Any], str]) -> list[dict]:
    """Run `write` per item; one result per item in order (``allOrNone``: all or none kept)."""
    if len(items) > MAX_COLLECTION:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
        )
    results: list[dict] = []
    failed = False

    def run_all() -> None:
        nonlocal failed
        for item in items:
            try:
                with store.atomic():
                    record_id = write(item)
                results.append({"id": record_id, "success": True, "errors": []})
            except (WriteError, ApiError) as exc:
                failed = True
                error = (
                    exc.collection_body()
                    if isinstance(exc, WriteError)
                    else {"statusCode": exc.error_code, "message": exc.message, "fields": []}
                )
                results.append({"success": False, "errors": [error]})
        if failed and all_or_none:
            raise _UndoAllError

    try:
        with store.atomic():
            run_all()
    except _UndoAllError:
        rolled = {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": "Record rolled back because not all records were valid and the request was using "
            "AllOrNone header",
            "fields": [],
        }
        return [r if not r["success"] else {"id": None, "success": False, "errors": [rolled]} for r in results]
    return results


@router.api_route("/composite/sobjects", methods=["POST", "PATCH", "DELETE"])
@router.api_route("/composite/sobjects/", methods=["POST", "PATCH", "DELETE"], include_in_schema=False)
async def collection(
    request: Request,
    owner: Owner,
    ctx: Context,
    ids: Annotated[str | None, Query()] = None,
    allOrNone: Annotated[str | None, Query()] = None,  # noqa: N803 - Salesforce's parameter name
) -> Response:
    """Create (POST), update (PATCH) or delete (DELETE ``?ids=``) up to 200 records in one call."""
    store = _store(ctx, owner)
    if request.method == "DELETE":
        id_list = [i for i in (ids or "").split(",") if i]
        all_or_none = (allOrNone or "false").lower() == "true"

        def remove(record_id: str) -> str:
            target = object_of(record_id) if isinstance(record_id, str) and is_valid_id(record_id) else None
            if target is None:
                raise WriteError("MALFORMED_ID", f"malformed id {record_id}", [])
            _delete(store, target, record_id)
            return record_id

        return SalesforceJSON(await run_in_threadpool(_collection, store, all_or_none, id_list, remove))
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body needs a 'records' list")
    all_or_none = bool(body.get("allOrNone", False))

    def write(record: Any) -> str:
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
            raise WriteError("INVALID_FIELD", "Each record needs attributes with its type", [])
        object_name = str(record["attributes"].get("type", ""))
        fields = {k: v for k, v in record.items() if k not in {"attributes", "id", "Id"}}
        if request.method == "POST":
            return _create(store, "60.0", object_name, fields).body["id"]
        record_id = record.get("id") or record.get("Id")
        if not isinstance(record_id, str):
            raise WriteError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        _update(store, object_name, record_id, fields)
        return record_id

    return SalesforceJSON(await run_in_threadpool(_collection, store, all_or_none, body["records"], write))


# --- composite (subrequests with references) ------------------------------------------------------


def _resolve(value: Any, outputs: dict[str, Any]) -> Any:
    """`value` with every ``@{ref.path}`` replaced by what subrequest `ref` answered."""
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        reference, path = match.groups()
        if reference not in outputs:
            raise ApiError(
                400, "INVALID_REFERENCE", f"Invalid reference specified. No value for {reference}.{path} found"
            )
        found: Any = outputs[reference]
        for part in re.findall(r"[A-Za-z0-9_]+|\[\d+\]", path):
            found = found[int(part[1:-1])] if part.startswith("[") else (found or {}).get(part)
        return "" if found is None else str(found)

    return _REFERENCE.sub(lookup, value)


def _subrequest(ctx: ApiContext, owner: TokenOwner, store: Sandbox, method: str, url: str, body: Any) -> Outcome:
    parts = urlsplit(url)
    match = re.fullmatch(r"/services/data/v(\d+\.\d)/(.*?)/?", parts.path)
    if not match:
        raise ApiError(400, "INVALID_URL", f"The URL {url} is not a supported subrequest")
    version, rest = match.groups()
    segments = [unquote(s) for s in rest.split("/")]
    if segments[0] == "sobjects" and len(segments) == 2 and method == "POST":
        return _create(store, version, segments[1], body)
    if segments[0] == "sobjects" and len(segments) == 3:
        obj = object_of_path(segments[1])
        if method == "GET":
            names = field_names(obj, parse_qs(parts.query).get("fields", [None])[0])
            return Outcome(200, fetch_record(ctx, owner, obj, record_id_of(obj, segments[2]), names, version))
        if method == "PATCH":
            return _update(store, segments[1], segments[2], body)
        if method == "DELETE":
            return _delete(store, segments[1], segments[2])
    if segments[0] == "sobjects" and len(segments) == 4 and method == "PATCH":
        return _upsert(store, version, segments[1], segments[2], segments[3], body)
    if segments == ["query"] and method == "GET":
        query = parse_qs(parts.query).get("q", [""])[0]
        return Outcome(200, first_query_batch(ctx, owner, version, query, False, None))
    raise ApiError(400, "INVALID_URL", f"The subrequest {method} {parts.path} is not supported")


@router.post("/composite")
@router.post("/composite/", include_in_schema=False)
async def composite(request: Request, owner: Owner, ctx: Context) -> Response:
    """Up to 25 subrequests in order; later ones use earlier answers through ``@{referenceId.field}``."""
    store = _store(ctx, owner)
    body = await _json_body(request)
    requests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests or len(requests) > MAX_SUBREQUESTS:
        raise ApiError(400, "JSON_PARSER_ERROR", f"compositeRequest must list 1 to {MAX_SUBREQUESTS} subrequests")
    all_or_none = bool(body.get("allOrNone", False))
    return SalesforceJSON(await run_in_threadpool(_run_composite, ctx, owner, store, requests, all_or_none))


def _run_composite(
    ctx: ApiContext, owner: TokenOwner, store: Sandbox, requests: list[Any], all_or_none: bool
) -> dict[str, Any]:
    answers: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    failed = False
    try:
        with store.atomic():
            for sub in requests:
                reference = sub.get("referenceId") if isinstance(sub, dict) else None
                if failed and all_or_none:
                    answers.append(_halted(reference))
                    continue
                try:
                    outcome = _run_subrequest(ctx, owner, store, sub, outputs)
                except (WriteError, ApiError) as exc:
                    failed = True
                    outcome = _failure(exc)
                if reference and outcome.status < 300:
                    outputs[reference] = outcome.body
                answers.append(
                    {
                        "body": outcome.body,
                        "httpHeaders": {"Location": outcome.location} if outcome.location else {},
                        "httpStatusCode": outcome.status,
                        "referenceId": reference,
                    }
                )
            if failed and all_or_none:
                raise _UndoAllError
    except _UndoAllError:
        answers = [a if a["httpStatusCode"] >= 300 else _halted(a["referenceId"]) for a in answers]
    return {"compositeResponse": answers}


def _run_subrequest(ctx: ApiContext, owner: TokenOwner, store: Sandbox, sub: Any, outputs: dict[str, Any]) -> Outcome:
    if not isinstance(sub, dict) or not isinstance(sub.get("url"), str):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each subrequest needs method, url and referenceId")
    method = str(sub.get("method", "GET")).upper()
    url, body = _resolve(sub["url"], outputs), _resolve(sub.get("body"), outputs)
    with store.atomic():
        return _subrequest(ctx, owner, store, method, url, body)


def _halted(reference: str | None) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": _ROLLED_BACK}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference,
    }
