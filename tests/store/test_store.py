"""The app store: migrations on SQLite and PostgreSQL, upgrades keep responses, concurrent starts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from crm_core.store import AppBase, Response, make_store_engine, open_app_store, upgrade
from crm_core.store.engine import StoreError, alembic_config, current_revision
from tests.conftest import create_pg_database, drop_pg_database

MY_TABLES = {"app_settings", "app_users", "studies", "study_items", "drafts", "responses", "ratings"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    return request.getfixturevalue("app_db_url" if request.param == "sqlite" else "app_db_pg_url")


@pytest.fixture
def other_store_url(store_url, tmp_path) -> Iterator[str]:
    """A second fresh store of the same kind as `store_url`."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    url = create_pg_database("crm_app_test")
    yield url
    drop_pg_database(url)


def _through_the_migrations(url: str) -> Engine:
    """A store at head reached by running every migration (an empty store skips them)."""
    engine = make_store_engine(url)
    upgrade(engine, "0001")
    upgrade(engine)  # no longer empty: the rest of the way through the migrations too
    return engine


def _schema(engine: Engine) -> dict[str, dict[str, object]]:
    """Every table's columns, keys, indexes and constraints as the database reports them."""
    found = inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in found.get_columns(table)
            ],
            "primary key": found.get_pk_constraint(table),
            "foreign keys": sorted(
                (str(f["name"]), f["constrained_columns"], f["referred_table"], f["referred_columns"])
                for f in found.get_foreign_keys(table)
            ),
            "indexes": sorted((i["name"], i["column_names"], i["unique"]) for i in found.get_indexes(table)),
            "unique": sorted((str(u["name"]), u["column_names"]) for u in found.get_unique_constraints(table)),
            "checks": sorted((str(c["name"]), c["sqltext"]) for c in found.get_check_constraints(table)),
        }
        for table in sorted(found.get_table_names())
    }


def test_the_migrations_build_the_models_schema(store_url):
    engine = _through_the_migrations(store_url)
    assert current_revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) >= MY_TABLES
    with engine.connect() as conn:  # the job queue's own tables (PostgreSQL) are not the models'
        ours = lambda name, kind, _parents: kind != "table" or not name.startswith("procrastinate_")  # noqa: E731
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), AppBase.metadata) == []
    open_app_store(store_url).kw["bind"].dispose()  # opening a store at head changes nothing
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_a_new_store_is_built_from_the_models_with_the_migrations_schema(store_url, other_store_url, monkeypatch):
    migrated = _through_the_migrations(other_store_url)
    with monkeypatch.context() as patch:  # a new store does not go through the migrations
        patch.setattr("alembic.command.upgrade", lambda *_: pytest.fail("a new store ran the migrations"))
        sessions = open_app_store(store_url)
    built = sessions.kw["bind"]
    assert current_revision(built) == HEAD
    assert _schema(built) == _schema(migrated)
    built.dispose()
    migrated.dispose()


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
