"""Rate limiting of failed sign-ins (studio form and REST API), per username and per client address.

Failures are rows in the app database (table ``api_login_failures``), so every studio and API
process sees the same counts, and a password guessed at through one door is refused at the
other. A sign-in is refused while the username (or, when given, the address) has too many
failures within the window; a successful sign-in clears the username's failures.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.store.models import ApiLoginFailure, utc_now

NO_ADDRESS = ""
"""The client address recorded when the caller does not know it (the studio's form)."""


class LoginLimits(BaseModel):
    """How many failures are tolerated within `window_seconds`."""

    per_username: int = 5
    per_ip: int = 30
    window_seconds: int = 900


def retry_after(
    sessions: sessionmaker[Session],
    limits: LoginLimits,
    username: str,
    client_ip: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> int | None:
    """Seconds until a sign-in for `username` (from `client_ip`, if known) is allowed again, or None if allowed now."""
    now = now or utc_now()
    since = now - dt.timedelta(seconds=limits.window_seconds)
    username = username.strip().lower()
    counted = [(ApiLoginFailure.username == username, limits.per_username)]
    if client_ip:
        counted.append((ApiLoginFailure.client_ip == client_ip, limits.per_ip))
    waits = []
    with sessions() as session:
        for condition, limit in counted:
            count, oldest = session.execute(
                select(func.count(), func.min(ApiLoginFailure.failed_at)).where(
                    condition, ApiLoginFailure.failed_at > since
                )
            ).one()
            if count >= limit and oldest is not None:
                waits.append(max(1, int((oldest - since).total_seconds()) + 1))
    return max(waits) if waits else None


def record_failure(sessions: sessionmaker[Session], username: str, client_ip: str = NO_ADDRESS) -> None:
    """Count one failed sign-in."""
    now = utc_now()
    with sessions.begin() as session:
        session.add(ApiLoginFailure(username=username.strip().lower()[:200], client_ip=client_ip[:64], failed_at=now))


def clear_failures(sessions: sessionmaker[Session], username: str, *, window_seconds: int) -> None:
    """Forget `username`'s failures after a successful sign-in, and every failure older than the window."""
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


def recent_failures(
    sessions: sessionmaker[Session], limits: LoginLimits, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Failed sign-ins per username within the window (usernames without failures are left out)."""
    since = (now or utc_now()) - dt.timedelta(seconds=limits.window_seconds)
    with sessions() as session:
        rows = session.execute(
            select(ApiLoginFailure.username, func.count())
            .where(ApiLoginFailure.failed_at > since)
            .group_by(ApiLoginFailure.username)
        )
        return {username: count for username, count in rows}
