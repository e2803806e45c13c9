"""The API's settings and per-process state, and the request dependencies that use them."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crm_core.api.batches import QueryBatches
from crm_core.api.errors import invalid_session, not_found
from crm_core.api.responses import USAGE_STATE_KEY
from crm_core.api.sandboxes import TokenSandboxes, WriteMode
from crm_core.api.throttle import LoginLimits
from crm_core.api.tokens import TokenOwner, check_token

OLDEST_VERSION = 31
LATEST_VERSION = 64


class ApiSettings(BaseModel):
    """How the API server behaves (CLI flags of ``serve``)."""

    org_db: str
    app_db: str
    token_ttl_seconds: int = 7200
    login_limits: LoginLimits = LoginLimits()
    today: dt.date | None = None  # "today" of relative date literals; None = the current UTC date
    writable: WriteMode = WriteMode.READ_ONLY  # serve --writable: a sandbox per token, or the shared org

    @property
    def token_ttl(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.token_ttl_seconds)

    def query_today(self) -> dt.date:
        return self.today or dt.datetime.now(dt.UTC).date()


@dataclass
class ApiUsage:
    """Requests counted per UTC day in this process (reported by ``limits``; never enforced)."""

    day: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self) -> int:
        today = dt.datetime.now(dt.UTC).date()
        with self.lock:
            if today != self.day:
                self.day, self.count = today, 0
            self.count += 1
            return self.count


@dataclass
class ApiContext:
    """What every request needs: settings, the read-only org engine, the app store, and where
    each token reads and writes (its sandbox under ``--writable``)."""

    settings: ApiSettings
    org_engine: Engine
    sessions: sessionmaker[Session]
    batches: QueryBatches
    writes: TokenSandboxes
    usage: ApiUsage = field(default_factory=ApiUsage)


async def api_context(request: Request) -> ApiContext:
    """The application's :class:`ApiContext`."""
    return request.app.state.api


def instance_url(request: Request) -> str:
    """The server's own base URL as the client reached it (``https://host:port``)."""
    return str(request.base_url).rstrip("/")


def supported_versions() -> list[str]:
    """API versions served, oldest first (``31.0`` .. ``64.0``)."""
    return [f"{number}.0" for number in range(OLDEST_VERSION, LATEST_VERSION + 1)]


async def check_version(version: str) -> str:
    """The path's version if it is one we serve; else Salesforce's 404."""
    if version not in _SUPPORTED:
        raise not_found()
    return version


_SUPPORTED = frozenset(supported_versions())


def require_session(request: Request) -> TokenOwner:
    """The owner of the request's bearer token; 401 ``INVALID_SESSION_ID`` otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in {"bearer", "oauth"}:
        raise invalid_session()
    ctx: ApiContext = request.app.state.api
    owner = check_token(ctx.sessions, token.strip())
    if owner is None:
        raise invalid_session()
    setattr(request.state, USAGE_STATE_KEY, ctx.usage.add())
    return owner


Owner = Annotated[TokenOwner, Depends(require_session)]
"""A route parameter: the authenticated token's owner."""
Context = Annotated[ApiContext, Depends(api_context)]
"""A route parameter: the app's :class:`ApiContext`."""
