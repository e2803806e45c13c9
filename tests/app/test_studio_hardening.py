"""Studio hardening: database errors as one-line messages, caseless filters, sign-in throttle,
API tokens revoked on password reset, and the researchers' latent-variables view."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from handmade_org import CASES
from sqlalchemy import create_engine, make_url, text
from streamlit.testing.v1 import AppTest
from studio_setup import PASSWORD

from crm_core.api.throttle import LoginLimits as ApiLoginLimits
from crm_core.api.throttle import retry_after as api_retry_after
from crm_core.api.tokens import check_token, issue_token
from crm_core.db import DatabaseURLError, make_engine, make_readonly_engine
from crm_core.org.schema import Base
from crm_core.store import open_app_store
from crm_core.studio.explorer import (
    LATENT_TABLES,
    ColumnFilter,
    ExplorerError,
    list_latent,
    list_records,
    org_connection,
)
from crm_core.studio.startup import COOKIE_NAME
from crm_core.users import get_user, set_password
from crm_core.users.throttle import LoginLimits, recent_failures, record_failure, retry_after

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60


def org_copy(handmade_org_url: str, tmp_path: Path) -> tuple[str, Path]:
    """A private copy of the hand-made org (tests may lock or add rows to it)."""
    path = tmp_path / "org.db"
    shutil.copy(handmade_org_url.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}", path


def run_page(page: str, username: str, role: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["roles"] = [role]
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# --- database errors --------------------------------------------------------------------------


@pytest.fixture
def locked_org(handmade_org_url, tmp_path):
    """A copy of the org whose file another connection holds an exclusive lock on."""
    url, path = org_copy(handmade_org_url, tmp_path)
    locker = sqlite3.connect(path, timeout=0, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    yield f"{url}?timeout=0.2"  # the studio waits 0.2 s for the lock, not SQLite's default 5 s
    locker.rollback()
    locker.close()


def test_locked_sqlite_org_is_a_one_line_explorer_error(locked_org):
    engine = make_readonly_engine(locked_org)
    try:
        with pytest.raises(ExplorerError) as caught, org_connection(engine) as conn:
            list_records(conn, "Case")
    finally:
        engine.dispose()
    message = str(caught.value)
    assert message == "the org database could not answer: database is locked"


def test_explorer_page_shows_a_locked_org_as_an_error(locked_org, studio, monkeypatch):
    monkeypatch.setenv("CRM_ORG_DB", locked_org)
    at = run_page("studio_pages/org_explorer.py", "rita", "researcher")
    assert not at.exception, at.exception
    assert errors(at) == ["the org database could not answer: database is locked"]


def test_home_page_shows_a_locked_org_as_an_error(locked_org, studio, monkeypatch):
    monkeypatch.setenv("CRM_ORG_DB", locked_org)
    at = run_page("studio_pages/home.py", "erin", "expert")
    assert not at.exception, at.exception
    assert errors(at) == ["the org database could not answer: database is locked"]
    assert [t.value for t in at.title] == ["CRMArena Studio"]  # the rest of the page is still there


@pytest.mark.postgres
def test_postgresql_error_keeps_its_first_line_without_sql(pg_url):
    engine = make_engine(pg_url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text('ALTER TABLE "Case" DROP COLUMN "Subject"'))
    engine.dispose()
    reader = make_readonly_engine(pg_url)
    try:
        with pytest.raises(ExplorerError) as caught, org_connection(reader) as conn:
            list_records(conn, "Case", filters=[ColumnFilter(field="Status", op="equals", value="New")])
    finally:
        reader.dispose()
    message = str(caught.value)
    assert "\n" not in message and "SELECT" not in message and "%(" not in message
    assert "column Case.Subject does not exist" in message.replace('"', "")


@pytest.mark.postgres
def test_postgresql_connection_error_does_not_show_the_password(pg_url):
    wrong = make_url(pg_url).set(password="not-the-secret-7731").render_as_string(hide_password=False)
    reader = make_readonly_engine(wrong)
    try:
        with pytest.raises(ExplorerError) as caught, org_connection(reader) as conn:
            list_records(conn, "Case")
    finally:
        reader.dispose()
    message = str(caught.value)
    assert "not-the-secret-7731" not in message and "\n" not in message
    assert "password authentication failed" in message


def test_out_of_range_datetime_filter_is_named(handmade_org_url):
    engine = make_readonly_engine(handmade_org_url)
    try:
        flt = ColumnFilter(field="CreatedDate", op=">", value="0001-01-01T00:00:00+14:00")
        bad_date = "CreatedDate: '0001-01-01T00:00:00\\+14:00' is not a date-time"
        with pytest.raises(ExplorerError, match=bad_date), org_connection(engine) as conn:
            list_records(conn, "Case", filters=[flt])
    finally:
        engine.dispose()


def test_admin_closing_a_study_removed_meanwhile_is_an_error_not_a_traceback(studio, monkeypatch):
    import crm_core.studies

    real_close = crm_core.studies.close_study

    def close_after_another_admin_removed_it(session, study_id):  # the race, made deterministic
        with sqlite3.connect(studio.app_url.removeprefix("sqlite:///")) as raw:
            raw.execute("DELETE FROM study_items WHERE study_id = ?", (study_id,))
            raw.execute("DELETE FROM studies WHERE id = ?", (study_id,))
        return real_close(session, study_id)

    monkeypatch.setattr(crm_core.studies, "close_study", close_after_another_admin_removed_it)
    at = run_page("studio_pages/admin.py", "adam", "admin")
    at.selectbox(key="close_id").select("mini")
    next(b for b in at.button if b.label == "Close study").click().run()
    assert not at.exception, at.exception
    assert any(e.startswith("no study 'mini'") for e in errors(at))


# --- case-insensitive comparisons -------------------------------------------------------------


def case_ids(url: str, where: str, **params: str) -> set[str]:
    """Case ids by hand-written SQL over the hand-made org."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text(f'SELECT "Id" FROM "Case" WHERE {where}'), params)}
    finally:
        engine.dispose()


@pytest.mark.parametrize("typed", ["closed", "CLOSED", "Closed"])
def test_equals_and_not_equals_ignore_case_and_partition_the_table(handmade_org_url, typed):
    engine = make_readonly_engine(handmade_org_url)
    try:
        with engine.connect() as conn:
            equal = list_records(conn, "Case", filters=[ColumnFilter(field="Status", op="equals", value=typed)])
            other = list_records(conn, "Case", filters=[ColumnFilter(field="Status", op="not equals", value=typed)])
    finally:
        engine.dispose()
    closed = case_ids(handmade_org_url, "\"Status\" = 'Closed'")
    assert closed and closed != set(CASES)  # the hand-made org has both
    assert {r["Id"] for r in equal.rows} == closed
    assert {r["Id"] for r in other.rows} == set(CASES) - closed


def test_id_comparisons_stay_exact(handmade_org_url):
    engine = make_readonly_engine(handmade_org_url)
    try:
        with engine.connect() as conn:
            exact = list_records(conn, "Case", filters=[ColumnFilter(field="Id", op="equals", value=CASES[0])])
            lowered = list_records(
                conn, "Case", filters=[ColumnFilter(field="Id", op="not equals", value=CASES[0].lower())]
            )
    finally:
        engine.dispose()
    assert [r["Id"] for r in exact.rows] == [CASES[0]]
    assert {r["Id"] for r in lowered.rows} == set(CASES)  # a lower-cased id is another id


# --- sign-in throttle -------------------------------------------------------------------------


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def test_the_sign_in_form_does_not_wait(studio, monkeypatch):
    """The authenticator's 0.7 s wait before the form (for its cookie component, no longer drawn) is off."""
    waits: list[tuple[str, float]] = []
    real_sleep = time.sleep

    def recording_sleep(seconds: float) -> None:
        waits.append((sys._getframe(1).f_globals.get("__name__", ""), seconds))
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", recording_sleep)
    at = sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "erin", "not-the-password")
    assert "Username or password is incorrect." in errors(at)
    assert [w for w in waits if w[0].startswith("streamlit_authenticator") and w[1] > 0] == []


@pytest.mark.slow
def test_studio_refuses_sign_in_after_too_many_failures(studio):
    limit = LoginLimits().per_username
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    for _ in range(limit):
        sign_in(at, "erin", "not-the-password")
        assert "Username or password is incorrect." in errors(at)
    # the right password no longer helps, in this session or a new one
    sign_in(at, "erin", PASSWORD)
    assert at.session_state["authentication_status"] is not True
    assert any(e.startswith("Too many failed sign-ins for this username") for e in errors(at))
    fresh = sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "Erin", PASSWORD)
    assert fresh.session_state["authentication_status"] is not True
    assert any(e.startswith("Too many failed sign-ins") for e in errors(fresh))
    # other users are not affected
    other = sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "rita", PASSWORD)
    assert other.session_state["authentication_status"] is True
    # the failures are in the app store, shared with the API's login throttle
    sessions = open_app_store(studio.app_url)
    try:
        assert recent_failures(sessions, LoginLimits()) == {"erin": limit}
        assert api_retry_after(sessions, ApiLoginLimits(), "erin", "203.0.113.9") is not None
    finally:
        sessions.kw["bind"].dispose()


@pytest.mark.slow
def test_successful_sign_in_clears_earlier_failures(studio):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    sign_in(at, "erin", "not-the-password")
    sign_in(at, "erin", PASSWORD)
    assert at.session_state["authentication_status"] is True
    sessions = open_app_store(studio.app_url)
    try:
        assert recent_failures(sessions, LoginLimits()) == {}
    finally:
        sessions.kw["bind"].dispose()


def test_throttle_counts_per_username_and_only_known_addresses(studio):
    sessions = open_app_store(studio.app_url)
    limits = LoginLimits(per_username=2, per_ip=3, window_seconds=60)
    try:
        record_failure(sessions, "Erin")
        assert retry_after(sessions, limits, "erin") is None
        record_failure(sessions, "erin ")
        wait = retry_after(sessions, limits, "ERIN")
        assert wait is not None and 1 <= wait <= 61
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=61)
        assert retry_after(sessions, limits, "erin", now=later) is None
        # the studio records no address: per-address limits apply to callers that give one
        for name in ("a1", "a2", "a3"):
            record_failure(sessions, name, "198.51.100.4")
        assert retry_after(sessions, limits, "rita", "198.51.100.4") is not None
        assert retry_after(sessions, limits, "rita") is None
    finally:
        sessions.kw["bind"].dispose()


# --- password reset and API tokens ------------------------------------------------------------


def test_password_reset_revokes_only_that_users_api_tokens(studio):
    sessions = open_app_store(studio.app_url)
    try:
        with sessions() as session:
            rita, adam = get_user(session, "rita"), get_user(session, "adam")
            assert rita is not None and adam is not None
            rita_id, adam_id = rita.id, adam.id
        ttl = dt.timedelta(hours=1)
        rita_tokens = [issue_token(sessions, rita_id, ttl)[0] for _ in range(2)]
        adam_token, _ = issue_token(sessions, adam_id, ttl)
        assert all(check_token(sessions, t) is not None for t in rita_tokens)
        with sessions() as session:
            set_password(session, "rita", "a-brand-new-pass-1")
        assert [check_token(sessions, t) for t in rita_tokens] == [None, None]
        owner = check_token(sessions, adam_token)
        assert owner is not None and owner.username == "adam"
    finally:
        sessions.kw["bind"].dispose()


@pytest.mark.slow
def test_password_reset_lifts_the_sign_in_lock(studio):
    sessions = open_app_store(studio.app_url)
    try:
        for _ in range(LoginLimits().per_username):
            record_failure(sessions, "erin")
            record_failure(sessions, "ethan")
        with sessions() as session:
            set_password(session, "erin", "a-brand-new-pass-2")
        assert recent_failures(sessions, LoginLimits()) == {"ethan": LoginLimits().per_username}
    finally:
        sessions.kw["bind"].dispose()
    at = sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "erin", "a-brand-new-pass-2")
    assert at.session_state["authentication_status"] is True


# --- latent variables -------------------------------------------------------------------------

REGIONS = {f"{chr(65 + i // 26)}{chr(65 + i % 26)}": round(0.5 + i / 100, 2) for i in range(60)}
"""60 made-up two-letter states with their service speed."""


@pytest.fixture
def latent_org(handmade_org_url, tmp_path, monkeypatch, studio) -> str:
    url, path = org_copy(handmade_org_url, tmp_path)
    with sqlite3.connect(path) as raw:
        raw.executemany("INSERT INTO latent_region (state, speed) VALUES (?, ?)", REGIONS.items())
    monkeypatch.setenv("CRM_ORG_DB", url)
    return url


def test_list_latent_pages_in_key_order(latent_org):
    engine = make_readonly_engine(latent_org)
    try:
        with engine.connect() as conn:
            pages = [list_latent(conn, "latent_region", page=p, page_size=25) for p in range(3)]
            empty = list_latent(conn, "latent_agent")
            with pytest.raises(ExplorerError, match="unknown latent table 'org_info'"):
                list_latent(conn, "org_info")
    finally:
        engine.dispose()
    assert [len(p.rows) for p in pages] == [25, 25, 10]
    assert all(p.total == 60 and p.page_count == 3 for p in pages)
    assert [(r["state"], r["speed"]) for p in pages for r in p.rows] == sorted(REGIONS.items())
    assert (empty.total, empty.rows) == (0, [])
    assert "org_info" not in LATENT_TABLES and "latent_region" in LATENT_TABLES


def view_options(at: AppTest) -> list[str]:
    return list(at.get("button_group")[0].options) if at.get("button_group") else []


@pytest.mark.parametrize(("username", "role"), [("rita", "researcher"), ("adam", "admin")])
def test_researchers_and_admins_see_the_latent_variables(latent_org, username, role):
    at = run_page("studio_pages/org_explorer.py", username, role, query={"view": "latent"})
    assert not at.exception, at.exception
    assert "Latent variables" in view_options(at)
    at.selectbox(key="latent_table").select("latent_region").run()
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["state", "speed"]
    assert list(frame["state"]) == sorted(REGIONS)[:50]
    at.number_input(key="latent_page-latent_region").set_value(2).run()
    assert list(at.dataframe[0].value["state"]) == sorted(REGIONS)[50:]


def test_experts_never_see_the_latent_variables(latent_org):
    at = run_page("studio_pages/org_explorer.py", "erin", "expert", query={"view": "latent"})
    assert not at.exception, at.exception
    assert "Latent variables" not in view_options(at)
    assert not [s for s in at.selectbox if s.key == "latent_table"]
    shown = [list(d.value.columns) for d in at.dataframe]
    assert ["state", "speed"] not in shown and shown  # the Tables view instead
    assert at.query_params.get("view") != ["latent"]


def test_an_org_url_s_timeout_must_be_seconds(handmade_org_url):
    with pytest.raises(DatabaseURLError, match=r"give seconds, such as timeout=0\.5"):
        make_readonly_engine(f"{handmade_org_url}?timeout=soon")


def test_sign_in_writes_the_cookie_and_sign_out_deletes_it_in_the_run_that_shows_the_form(studio):
    """The cookie is written and deleted by scripts in the page (sign_in_cookie.py): the run right
    after a sign-in carries the writing script, the run after Sign out the form and the deleting one."""
    at = sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "erin", PASSWORD)
    assert at.session_state["authentication_status"] is True
    written = [h.proto for h in at.html if COOKIE_NAME in h.proto.body]
    assert len(written) == 1 and written[0].unsafe_allow_javascript
    assert "expires=Thu, 01 Jan 1970" not in written[0].body
    at.button(key="sign_out").click().run()
    assert at.session_state["authentication_status"] is None
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    deleted = [h.proto.body for h in at.html if COOKIE_NAME in h.proto.body]
    assert len(deleted) == 1 and "expires=Thu, 01 Jan 1970 00:00:00 GMT" in deleted[0]


def test_an_account_removed_while_signed_in_is_signed_out_and_its_cookie_deleted(studio):
    at = sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "erin", PASSWORD)
    assert at.session_state["authentication_status"] is True
    engine = create_engine(studio.app_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM app_users WHERE username = 'erin'"))
    engine.dispose()
    at.run()  # the next click
    assert at.session_state["authentication_status"] is None
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    deleted = [h.proto.body for h in at.html if COOKIE_NAME in h.proto.body]
    assert len(deleted) == 1 and "expires=Thu, 01 Jan 1970 00:00:00 GMT" in deleted[0]
