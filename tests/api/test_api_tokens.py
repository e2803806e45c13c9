"""Access tokens and failed-login throttling in the app store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, text

from crm_core.api import throttle, tokens
from crm_core.api.users import authenticate
from crm_core.store.engine import open_app_store
from crm_core.store.models import ApiToken, utc_now
from crm_core.users import accounts
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        yield _with_users(url)
        return
    url = create_pg_database("crm_api")
    try:
        sessions = _with_users(url)
        yield sessions
        sessions.kw["bind"].dispose()
    finally:
        drop_pg_database(url)


def _with_users(url: str):
    sessions = open_app_store(url)
    with sessions() as session:
        accounts.add_user(session, "rita", "researcher", "rita-password")
        accounts.add_user(session, "ed", "expert", "ed-password")
    return sessions


def _user_id(sessions, username: str) -> int:
    with sessions() as session:
        return accounts.get_user(session, username).id


def test_token_round_trip_and_only_its_hash_is_stored(store):
    rita = _user_id(store, "rita")
    token, issued = tokens.issue_token(store, rita, dt.timedelta(hours=1))
    owner = tokens.check_token(store, token)
    assert owner is not None and owner.username == "rita" and owner.role == "researcher"
    assert owner.expires_at == issued + dt.timedelta(hours=1)
    with store() as session:
        stored = session.execute(select(ApiToken.token_hash)).scalars().all()
        dumped = " ".join(str(v) for row in session.execute(text("SELECT * FROM api_tokens")) for v in row)
    assert token not in dumped
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


def test_wrong_expired_and_revoked_tokens_are_refused(store):
    rita = _user_id(store, "rita")
    token, _ = tokens.issue_token(store, rita, dt.timedelta(hours=1))
    assert tokens.check_token(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert tokens.check_token(store, "") is None
    old, _ = tokens.issue_token(store, rita, dt.timedelta(minutes=5), now=utc_now() - dt.timedelta(minutes=6))
    assert tokens.check_token(store, old) is None
    # Still valid one second before it expires, by construction of `now`.
    assert tokens.check_token(store, token, now=utc_now() + dt.timedelta(minutes=59)) is not None
    assert tokens.check_token(store, token, now=utc_now() + dt.timedelta(minutes=61)) is None
    assert tokens.revoke_token(store, token) is True
    assert tokens.check_token(store, token) is None
    assert tokens.revoke_token(store, token) is False


def test_a_token_stops_working_when_its_user_loses_api_access(store):
    rita = _user_id(store, "rita")
    token, _ = tokens.issue_token(store, rita, dt.timedelta(hours=1))
    with store() as session:
        accounts.set_role(session, "rita", "expert")
    assert tokens.check_token(store, token) is None


def test_authenticate(store):
    assert authenticate(store, "RITA", "rita-password").role == "researcher"
    assert authenticate(store, "rita", "wrong-password") is None
    assert authenticate(store, "nobody", "rita-password") is None
    expert = authenticate(store, "ed", "ed-password")
    assert expert is not None and not expert.may_use_api


def test_failed_logins_are_limited_per_username_and_per_address(store):
    limits = throttle.LoginLimits(per_username=3, per_ip=5, window_seconds=600)
    for _ in range(3):
        assert throttle.retry_after(store, limits, "rita", "10.0.0.1") is None
        throttle.record_failure(store, "Rita", "10.0.0.1")
    wait = throttle.retry_after(store, limits, "rita", "10.0.0.9")
    assert wait is not None and 590 <= wait <= 601
    assert throttle.retry_after(store, limits, "ed", "10.0.0.9") is None
    # Two more failures from the same address, for other names, exhaust the address's allowance.
    throttle.record_failure(store, "x1", "10.0.0.1")
    throttle.record_failure(store, "x2", "10.0.0.1")
    assert throttle.retry_after(store, limits, "ed", "10.0.0.1") is not None
    # The window passes: allowed again.
    later = utc_now() + dt.timedelta(seconds=601)
    assert throttle.retry_after(store, limits, "rita", "10.0.0.1", now=later) is None
    throttle.clear_failures(store, "rita", window_seconds=600)
    assert throttle.retry_after(store, limits, "rita", "10.0.0.9") is None
