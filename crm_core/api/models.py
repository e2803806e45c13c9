"""App-store tables of the REST API: access tokens, failed logins and query locators.

They live in the app database (not in memory) so that several API replicas behind one load
balancer share sessions, login throttling and query cursors. Tokens are stored as SHA-256
hashes: a token is 256 random bits, so a fast hash is enough and a stolen table yields nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.store.models import AppBase


class ApiToken(AppBase):
    """An OAuth access token (hashed) of one studio user."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ApiLoginFailure(AppBase):
    """One failed OAuth login, counted per username and per client address."""

    __tablename__ = "api_login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    client_ip: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)


class ApiQueryLocator(AppBase):
    """A query whose result spans several batches; ``nextRecordsUrl`` points at it."""

    __tablename__ = "api_query_locators"

    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False)
    include_deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    total_size: Mapped[int] = mapped_column(Integer, nullable=False)
    batch_size: Mapped[int] = mapped_column(Integer, nullable=False)
    today: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
