"""OAuth access tokens: issue, check, revoke. Only SHA-256 hashes are stored.

A token looks like a Salesforce session id (``00D<org id>!<random>``); its random part carries
256 bits from :mod:`secrets`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from crm_core.api.users import API_ROLES
from crm_core.org.ids import case_safe_suffix
from crm_core.store.models import ApiToken, AppUser, utc_now

ORG_ID_15 = "00DHs0000007cRm"
ORG_ID = ORG_ID_15 + case_safe_suffix(ORG_ID_15)


class TokenOwner(BaseModel):
    """Who a valid token belongs to."""

    user_id: int
    username: str
    role: str
    token_hash: str
    expires_at: dt.datetime


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    sessions: sessionmaker[Session],
    user_id: int,
    ttl: dt.timedelta,
    *,
    client_id: str = "",
    now: dt.datetime | None = None,
) -> tuple[str, dt.datetime]:
    """Create a token for `user_id` valid for `ttl` from `now`; return it and its issue time."""
    issued = now or utc_now()
    token = f"{ORG_ID_15}!{secrets.token_urlsafe(32)}"
    with sessions.begin() as session:
        session.add(
            ApiToken(
                token_hash=hash_token(token),
                user_id=user_id,
                client_id=client_id[:200],
                issued_at=issued,
                expires_at=issued + ttl,
            )
        )
        # Housekeeping: expired tokens are useless; drop them as new ones are made.
        session.execute(delete(ApiToken).where(ApiToken.expires_at < issued - dt.timedelta(days=1)))
    return token, issued


def check_token(sessions: sessionmaker[Session], token: str, *, now: dt.datetime | None = None) -> TokenOwner | None:
    """The owner of `token` if it exists, is neither expired nor revoked and its user still may use the API."""
    if not token or len(token) > 200:
        return None
    token_hash = hash_token(token)
    with sessions() as session:
        row = session.execute(
            select(ApiToken.expires_at, ApiToken.revoked_at, AppUser.id, AppUser.username, AppUser.role)
            .join(AppUser, AppUser.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash)
        ).one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= (now or utc_now()):
        return None
    if row.role not in API_ROLES:
        return None
    return TokenOwner(
        user_id=row.id, username=row.username, role=row.role, token_hash=token_hash, expires_at=row.expires_at
    )


def revoke_token(sessions: sessionmaker[Session], token: str) -> bool:
    """Revoke `token`; False when no such live token exists."""
    now = utc_now()
    with sessions.begin() as session:
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
            .values(revoked_at=now)
        )
    return bool(getattr(result, "rowcount", 0))
