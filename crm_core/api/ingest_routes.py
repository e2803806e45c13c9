"""Bulk API 2.0 ingest endpoints: ``/services/data/vXX.X/jobs/ingest`` (under ``serve --writable``).

Create a job (``POST``), upload its CSV once (``PUT …/batches``), close it (``PATCH`` state
``UploadComplete``: it is then processed in the background, ``InProgress`` → ``JobComplete``
or ``Failed``) or abort it, read it (``GET``), read its ``successfulResults/``,
``failedResults/`` and ``unprocessedrecords/`` (CSV), and delete it. Jobs live in the app store,
so every worker answers for them; a job belongs to its creator (anyone else gets 404). The
writes go where the token's writes go (its sandbox, or the org with ``--writable=shared``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from crm_core.api.context import ApiContext, Context, Owner, check_version
from crm_core.api.errors import ApiError, not_found, read_only
from crm_core.api.ingest_jobs import (
    DELIMITERS,
    LINE_ENDINGS,
    OPERATIONS,
    JobFailedError,
    run_job,
    unprocessed_rows,
)
from crm_core.api.oauth import user_sf_id
from crm_core.api.responses import SalesforceJSON
from crm_core.api.tokens import TokenOwner
from crm_core.org.ids import random_id
from crm_core.org.metadata import find_object
from crm_core.store.models import ApiIngestJob, utc_now
from crm_core.writes import WriteError

log = logging.getLogger("crm_core.api")
router = APIRouter(prefix="/services/data/v{version}/jobs/ingest", dependencies=[Depends(check_version)])
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
"""Salesforce's limit on one job's uploaded CSV."""
_FINISHED = ("JobComplete", "Failed", "Aborted")
_RESULTS = {"successfulResults": "successful", "failedResults": "failed", "unprocessedrecords": "unprocessed"}


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def job_info(job: ApiIngestJob, *, full: bool = True) -> dict[str, Any]:
    """A job as Salesforce describes it (``full``: with counts and times, as ``GET`` answers)."""
    info: dict[str, Any] = {
        "id": job.id,
        "operation": job.operation,
        "object": job.object,
        "createdById": user_sf_id(job.user_id),
        "createdDate": _timestamp(job.created_at),
        "systemModstamp": _timestamp(job.modified_at),
        "state": job.state,
    }
    if job.external_id_field:
        info["externalIdFieldName"] = job.external_id_field
    info |= {
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.api_version),
        "contentUrl": f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches",
        "lineEnding": job.line_ending,
        "columnDelimiter": job.column_delimiter,
    }
    if full:
        info |= {
            "jobType": "V2Ingest",
            "numberRecordsProcessed": job.records_processed,
            "numberRecordsFailed": job.records_failed,
            "retries": 0,
            "totalProcessingTime": job.processing_ms,
            "apiActiveProcessingTime": job.processing_ms,
            "apexProcessingTime": 0,
        }
        if job.error_message:
            info["errorMessage"] = job.error_message
    return info


def _job_error(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)


def _state_error(job: ApiIngestJob, wanted: str) -> ApiError:
    return ApiError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: {wanted}")


def _load(session: Session, owner: TokenOwner, job_id: str) -> ApiIngestJob:
    job = session.get(ApiIngestJob, job_id)
    if job is None or job.user_id != owner.user_id:
        raise not_found()
    return job


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """A create request's settings, checked as Salesforce checks them (INVALIDJOB otherwise)."""
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _job_error(f"Invalid operation: {operation!r}; expected one of {', '.join(OPERATIONS)}")
    obj = find_object(str(body.get("object", "")))
    if obj is None:
        raise _job_error(f"Unable to find object: {body.get('object')}")
    if body.get("contentType", "CSV") != "CSV":
        raise _job_error(f"Invalid contentType: {body.get('contentType')!r}; only CSV is supported")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        raise _job_error(f"Invalid columnDelimiter: {delimiter!r}; expected one of {', '.join(DELIMITERS)}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        raise _job_error(f"Invalid lineEnding: {line_ending!r}; expected LF or CRLF")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        described = obj.field(str(external)) if external else None
        if described is None:
            raise _job_error(f"Invalid externalIdFieldName for {obj.name}: {external!r} (an upsert needs one)")
        external = described.name
    else:
        external = None
    return {
        "object": obj.name,
        "operation": operation,
        "external_id_field": external,
        "column_delimiter": delimiter,
        "line_ending": line_ending,
    }


@router.post("")
@router.post("/", include_in_schema=False)
async def create_job(version: str, request: Request, owner: Owner, ctx: Context) -> Response:
    """Create an ingest job (state ``Open``)."""
    if not ctx.writes.writable:
        raise read_only("The server is read-only: start it with --writable to load data")
    settings = _settings(await _json(request))
    now = utc_now()
    job = ApiIngestJob(
        id=random_id("750"),
        user_id=owner.user_id,
        token_hash=owner.token_hash,
        api_version=version,
        state="Open",
        records_processed=0,
        records_failed=0,
        processing_ms=0,
        created_at=now,
        modified_at=now,
        **settings,
    )

    def save() -> dict[str, Any]:
        with ctx.sessions.begin() as session:
            session.add(job)
            session.flush()
            return job_info(job, full=False)

    return SalesforceJSON(await run_in_threadpool(save))


@router.get("")
@router.get("/", include_in_schema=False)
def list_jobs(version: str, owner: Owner, ctx: Context) -> Response:
    """The caller's ingest jobs, newest first."""
    with ctx.sessions() as session:
        jobs = session.scalars(
            select(ApiIngestJob).where(ApiIngestJob.user_id == owner.user_id).order_by(ApiIngestJob.created_at.desc())
        ).all()
        records = [job_info(job, full=False) for job in jobs]
    return SalesforceJSON({"done": True, "records": records, "nextRecordsUrl": None})


@router.get("/{job_id}")
@router.get("/{job_id}/", include_in_schema=False)
def get_job(version: str, job_id: str, owner: Owner, ctx: Context) -> Response:
    """A job's state and counts."""
    with ctx.sessions() as session:
        return SalesforceJSON(job_info(_load(session, owner, job_id)))


@router.put("/{job_id}/batches")
@router.put("/{job_id}/batches/", include_in_schema=False)
async def upload(version: str, job_id: str, request: Request, owner: Owner, ctx: Context) -> Response:
    """Upload the job's CSV (once, while the job is ``Open``): 201."""
    raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "ClientInputError", f"The job data is {len(raw):,} bytes; at most 150 MB are accepted")
    if not raw.strip():
        raise ApiError(400, "ClientInputError", "The request body is empty: upload the job's CSV")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "ClientInputError", f"The job data is not UTF-8: {exc}") from None

    def save() -> None:
        with ctx.sessions.begin() as session:
            job = _load(session, owner, job_id)
            if job.state != "Open":
                raise _state_error(job, "data can be uploaded only while it is Open")
            if job.data is not None:
                raise ApiError(
                    400,
                    "BULK_API_ERROR",
                    f"Found multiple contents for job {job.id}: upload a job's data in one PUT, "
                    "or abort this job and create a new one",
                )
            job.data, job.modified_at = text, utc_now()

    await run_in_threadpool(save)
    return Response(status_code=201)


@router.patch("/{job_id}")
@router.patch("/{job_id}/", include_in_schema=False)
async def set_state(
    version: str, job_id: str, request: Request, owner: Owner, ctx: Context, background: BackgroundTasks
) -> Response:
    """Close (``UploadComplete``: processing starts) or abort (``Aborted``) a job."""
    wanted = (await _json(request)).get("state")
    if wanted not in {"UploadComplete", "Aborted"}:
        raise ApiError(
            400, "INVALIDJOBSTATE", f"Invalid state: {wanted!r}; a job can be set to UploadComplete or Aborted"
        )

    def change() -> dict[str, Any]:
        with ctx.sessions.begin() as session:
            job = _load(session, owner, job_id)
            if wanted == "UploadComplete":
                if job.state != "Open":
                    raise _state_error(job, "only an Open job can be closed")
                job.state = "UploadComplete"
            else:
                if job.state in _FINISHED:
                    raise _state_error(job, "a finished job cannot be aborted")
                job.state = "Aborted"
                job.unprocessed = unprocessed_rows(
                    job.data, DELIMITERS[job.column_delimiter], LINE_ENDINGS[job.line_ending]
                )
            job.modified_at = utc_now()
            return job_info(job, full=False)

    info = await run_in_threadpool(change)
    if wanted == "UploadComplete":
        background.add_task(process_job, ctx, job_id)
    return SalesforceJSON(info)


@router.delete("/{job_id}")
@router.delete("/{job_id}/", include_in_schema=False)
def delete_job(version: str, job_id: str, owner: Owner, ctx: Context) -> Response:
    """Delete a job that is not Open or being processed: 204."""
    with ctx.sessions.begin() as session:
        job = _load(session, owner, job_id)
        if job.state in {"Open", "InProgress"}:
            raise _state_error(job, "close or abort it before deleting it")
        session.delete(job)
    return Response(status_code=204)


@router.get("/{job_id}/{kind}")
@router.get("/{job_id}/{kind}/", include_in_schema=False)
def results(
    version: str,
    job_id: str,
    kind: str,
    owner: Owner,
    ctx: Context,
    locator: Annotated[str | None, Query()] = None,
) -> Response:
    """A job's ``successfulResults``, ``failedResults`` or ``unprocessedrecords`` (CSV)."""
    if kind not in _RESULTS:
        raise not_found()
    with ctx.sessions() as session:
        job = _load(session, owner, job_id)
        if kind != "unprocessedrecords" and job.state not in _FINISHED:
            raise _state_error(job, "results are available once the job is JobComplete, Failed or Aborted")
        body = getattr(job, _RESULTS[kind]) or ""
    return Response(body, media_type="text/csv", headers={"Sforce-Locator": "null"})


def process_job(ctx: ApiContext, job_id: str) -> None:
    """Run a closed job (a background task): ``InProgress``, then ``JobComplete`` or ``Failed``."""
    with ctx.sessions.begin() as session:
        job = session.get(ApiIngestJob, job_id)
        if job is None or job.state != "UploadComplete":
            return  # deleted or aborted meanwhile
        job.state, job.modified_at = "InProgress", utc_now()
        settings = (job.token_hash, job.object, job.operation, job.external_id_field, job.data)
        delimiter, line_ending = DELIMITERS[job.column_delimiter], LINE_ENDINGS[job.line_ending]
    token_hash, object_name, operation, external_id, data = settings
    started = time.monotonic()
    outcome: dict[str, Any]
    try:
        if not data:
            raise JobFailedError("InvalidBatch : No data was uploaded for this job")
        store = ctx.writes.store(token_hash)
        done = run_job(store, object_name, operation, external_id, data, delimiter=delimiter, line_ending=line_ending)
        outcome = {
            "state": "JobComplete",
            "successful": done.successful,
            "failed": done.failed,
            "unprocessed": done.unprocessed,
            "records_processed": done.processed,
            "records_failed": done.failed_count,
        }
    except (JobFailedError, WriteError) as exc:
        outcome = {"state": "Failed", "error_message": str(exc), "successful": "", "failed": ""}
        outcome["unprocessed"] = unprocessed_rows(data, delimiter, line_ending)
    except Exception as exc:  # noqa: BLE001 - the job must end in a state the client can read
        log.exception("ingest job %s failed", job_id, exc_info=exc)
        outcome = {"state": "Failed", "error_message": f"InternalServerError : {exc}", "successful": "", "failed": ""}
        outcome["unprocessed"] = unprocessed_rows(data, delimiter, line_ending)
    with ctx.sessions.begin() as session:
        job = session.get(ApiIngestJob, job_id)
        if job is None:
            return
        for name, value in outcome.items():
            setattr(job, name, value)
        job.processing_ms = int((time.monotonic() - started) * 1000)
        job.modified_at = utc_now()
