"""Rate limiting of failed OAuth logins, per username and per client address.

Failures are rows in the app database, so every replica sees the same counts. A login is
refused while the username or the address has too many failures within the window; a
successful login clears the username's failures.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.api.models import ApiLoginFailure
from crm_core.store.models import utc_now


class LoginLimits(BaseModel):
    """How many failures are tolerated within `window_seconds`."""

    per_username: int = 5
    per_ip: int = 30
    window_seconds: int = 900


def retry_after(
    sessions: sessionmaker[Session],
    limits: LoginLimits,
    username: str,
    client_ip: str,
    *,
    now: dt.datetime | None = None,
) -> int | None:
    """Seconds until a login for `username` from `client_ip` is allowed again, or None if allowed now."""
    now = now or utc_now()
    since = now - dt.timedelta(seconds=limits.window_seconds)
    username = username.strip().lower()
    with sessions() as session:
        by_user = session.execute(
            select(func.count(), func.min(ApiLoginFailure.failed_at)).where(
                ApiLoginFailure.username == username, ApiLoginFailure.failed_at > since
            )
        ).one()
        by_ip = session.execute(
            select(func.count(), func.min(ApiLoginFailure.failed_at)).where(
                ApiLoginFailure.client_ip == client_ip, ApiLoginFailure.failed_at > since
            )
        ).one()
    waits = []
    for (count, oldest), limit in ((by_user, limits.per_username), (by_ip, limits.per_ip)):
        if count >= limit and oldest is not None:
            waits.append(max(1, int((oldest - since).total_seconds()) + 1))
    return max(waits) if waits else None


def record_failure(sessions: sessionmaker[Session], username: str, client_ip: str) -> None:
    """Count one failed login."""
    now = utc_now()
    with sessions.begin() as session:
        session.add(ApiLoginFailure(username=username.strip().lower()[:200], client_ip=client_ip[:64], failed_at=now))


def clear_failures(sessions: sessionmaker[Session], username: str, *, window_seconds: int) -> None:
    """Forget `username`'s failures after a successful login, and every failure older than the window."""
    now = utc_now()
    with sessions.begin() as session:
        session.execute(
            delete(ApiLoginFailure).where(
                or_(
                    ApiLoginFailure.username == username.strip().lower(),
                    ApiLoginFailure.failed_at < now - dt.timedelta(seconds=window_seconds),
                )
            )
        )
