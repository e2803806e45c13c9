"""The app store: migrations on SQLite and PostgreSQL, upgrades keep responses, concurrent starts."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from crm_core.store import AppBase, Response, make_store_engine, open_app_store, upgrade
from crm_core.store.engine import StoreError, alembic_config, current_revision

MY_TABLES = {"app_settings", "app_users", "studies", "study_items", "drafts", "responses", "ratings"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    return request.getfixturevalue("app_db_url" if request.param == "sqlite" else "app_db_pg_url")


def test_open_migrates_to_head_and_matches_the_models(store_url):
    sessions = open_app_store(store_url)
    engine = sessions.kw["bind"]
    assert current_revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) >= MY_TABLES
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), AppBase.metadata)
    mine = [d for d in diffs if any(getattr(x, "name", None) in MY_TABLES for x in _flatten(d))]
    assert mine == []
    open_app_store(store_url).kw["bind"].dispose()  # a second open is a no-op
    assert current_revision(engine) == HEAD
    engine.dispose()


def _flatten(diff: object) -> list[object]:
    items = diff if isinstance(diff, list) else [diff]
    out: list[object] = []
    for item in items:
        out += list(item) if isinstance(item, tuple) else [item]
    return [getattr(x, "table", x) for x in out]


def test_sqlite_store_uses_wal_and_a_busy_timeout(app_db_url):
    sessions = open_app_store(app_db_url)
    with sessions() as session:
        assert session.scalar(text("PRAGMA journal_mode")) == "wal"
        assert session.scalar(text("PRAGMA busy_timeout")) >= 5000
    sessions.kw["bind"].dispose()


def test_upgrade_from_the_first_revision_keeps_responses(store_url):
    engine = make_store_engine(store_url)
    upgrade(engine, "0001")
    assert "drafts" not in inspect(engine).get_table_names()
    when = dt.datetime(2026, 1, 2, 3, 4, 5)
    with engine.begin() as conn:  # data written by the first release
        conn.execute(
            text(
                "INSERT INTO app_users (id, username, name, email, role, password_hash, created_at, updated_at) "
                "VALUES (1, 'eve', 'Eve', '', 'expert', 'x', :t, :t)"
            ),
            {"t": when},
        )
        conn.execute(
            text(
                "INSERT INTO studies (id, title, status, definition, source, loaded_at) "
                "VALUES ('old', 'Old', 'open', '{}', '', :t)"
            ),
            {"t": when},
        )
        conn.execute(
            text(
                "INSERT INTO study_items (id, study_id, key, kind, label, position) "
                "VALUES (7, 'old', 'org', 'org', 'The org', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO responses (id, submission_id, study_id, item_id, user_id, version, started_at, "
                "submitted_at) VALUES (3, 'sub-old', 'old', 7, 1, 1, :t, :t)"
            ),
            {"t": when},
        )
        conn.execute(
            text(
                "INSERT INTO ratings (id, response_id, dimension, position, value, label, comment) "
                "VALUES (9, 3, 'overall', 0, 4, 'Realistic', 'kept')"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert "drafts" in inspect(engine).get_table_names()
    sessions = open_app_store(store_url)
    with sessions() as session:  # the current models read the old rows
        (response,) = session.scalars(select(Response)).all()
        got = (response.submission_id, response.study_id, response.item_id, response.user_id, response.version)
        assert got == ("sub-old", "old", 7, 1, 1)
        assert (response.started_at, response.submitted_at, response.time_on_item_seconds) == (when, when, None)
        assert [(r.dimension, r.value, r.label, r.comment) for r in response.ratings] == [
            ("overall", 4, "Realistic", "kept")
        ]
    sessions.kw["bind"].dispose()
    engine.dispose()


def test_concurrent_first_starts_migrate_once(store_url):
    def start(_: int) -> str | None:
        sessions = open_app_store(store_url)
        engine = sessions.kw["bind"]
        revision = current_revision(engine)
        engine.dispose()
        return revision

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(start, range(6))) == [HEAD] * 6
    engine = make_store_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    engine.dispose()


def test_bad_urls_are_one_line_errors(tmp_path):
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        open_app_store("mysql://localhost/app")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the app database"):
        open_app_store(f"sqlite:///{blocker / 'sub' / 'app.db'}")
    with pytest.raises(StoreError, match="cannot open the app database .*: unable to open database file"):
        open_app_store(f"sqlite:///{tmp_path}")  # a folder, not a file
