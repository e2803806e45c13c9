"""The ASGI application: routes, Salesforce-shaped errors and the per-process context."""

from __future__ import annotations

import logging
import os
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_core.api import data_routes, ingest_routes, oauth, write_routes
from crm_core.api.batches import QueryBatches
from crm_core.api.context import ApiContext, ApiSettings
from crm_core.api.errors import RESOURCE_MISSING, ApiError
from crm_core.api.responses import LimitInfoHeader, RequestSizeLimit
from crm_core.api.sandboxes import TokenSandboxes
from crm_core.db import display_url, make_readonly_engine
from crm_core.errors import UserFacingError, first_line
from crm_core.store import open_app_store

log = logging.getLogger("crm_core.api")
SETTINGS_ENV = "CRM_API_SETTINGS"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ApiError):  # pragma: no cover - registered for ApiError only
        raise exc
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        raise exc
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "GET")
        return _error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {allowed.replace(', ', ',')}",
            {"Allow": allowed},
        )
    if exc.status_code == 404:
        return _error(404, "NOT_FOUND", RESOURCE_MISSING)
    return _error(exc.status_code, "UNKNOWN_EXCEPTION", str(exc.detail))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    return _error(400, "INVALID_OPERATION", f"Bad request: {exc}")


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    error_id = secrets.token_hex(6)
    log.exception("unexpected error %s", error_id, exc_info=exc)
    return _error(
        500,
        "UNKNOWN_EXCEPTION",
        f"An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}",
    )


def _open_org(url: str) -> Engine:
    """The org, read-only, after checking that it can be reached and holds an org."""
    engine = make_readonly_engine(url)
    shown = display_url(url)
    try:
        with engine.connect() as conn:
            has_org = inspect(conn).has_table("Case")
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = first_line(exc)
        raise UserFacingError(f"cannot open the org database {shown}: {reason}") from None
    if not has_org:
        engine.dispose()
        raise UserFacingError(f"no org in {shown}: run `python -m crm_core generate` first")
    return engine


def create_app(settings: ApiSettings) -> FastAPI:
    """The REST API over the org at ``settings.org_db`` (read-only unless ``settings.writable``),
    users from ``settings.app_db``.

    The app store is migrated on creation (it holds tokens, login failures and query locators).
    """
    sessions = open_app_store(settings.app_db)
    org_engine = _open_org(settings.org_db)
    context = ApiContext(
        settings=settings,
        org_engine=org_engine,
        sessions=sessions,
        batches=QueryBatches(sessions),
        writes=TokenSandboxes(settings.org_db, settings.writable, org_engine),
    )
    app = FastAPI(
        title="CRMArena Studio REST API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        exception_handlers={
            ApiError: _api_error,
            StarletteHTTPException: _http_error,
            RequestValidationError: _validation_error,
            Exception: _unexpected,
        },
    )
    app.add_middleware(LimitInfoHeader)
    app.add_middleware(RequestSizeLimit)  # added last: runs first
    app.state.api = context
    app.include_router(data_routes.versions_router)
    app.include_router(data_routes.router)
    app.include_router(write_routes.router)
    app.include_router(ingest_routes.router)
    app.include_router(oauth.router)
    return app


def app_from_environment() -> FastAPI:
    """App factory for uvicorn worker processes: the settings are JSON in ``$CRM_API_SETTINGS``."""
    return create_app(ApiSettings.model_validate_json(os.environ[SETTINGS_ENV]))
