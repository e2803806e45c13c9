"""Opening the app store: engine setup and Alembic upgrade to head, for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions of the store's functions start
with ``BEGIN IMMEDIATE`` (see :func:`begin_write`) so that concurrent writers queue instead of
failing. Migrations run under a lock (SQLite's write lock, a PostgreSQL advisory lock) so that
several processes starting at once upgrade the database exactly once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import DatabaseURLError, app_db_url, is_sqlite, make_engine
from crm_core.errors import UserFacingError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_IMMEDIATE = "sqlite_immediate"
_PG_MIGRATION_LOCK = 0x63726D61  # advisory lock key for migrations ("crma")


class StoreError(UserFacingError):
    """The app store cannot be opened (bad URL, unreachable server, unwritable file)."""


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy emit BEGIN itself, so that write transactions can use BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN")


def make_store_engine(url: str | None = None) -> Engine:
    """A read-write engine on the app store (no migration); `url` defaults to :func:`app_db_url`."""
    try:
        url = app_db_url(url)
    except DatabaseURLError as exc:
        raise StoreError(f"app database: {exc}") from None
    engine = make_engine(url)
    if is_sqlite(url):
        _sqlite_transactions(engine)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the store's migrations, optionally bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store to `revision`, holding a lock so concurrent starts migrate once."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The store's Alembic revision (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_app_store(url: str | None = None) -> sessionmaker[Session]:
    """Open the app store at `url` (default: ``--app-db``/``CRM_APP_DB``/``sqlite:///data/app.db``).

    Creates or upgrades the schema to the newest migration and returns a session factory; the
    factory's ``kw["bind"]`` is the engine.
    """
    engine = make_store_engine(url)
    try:
        upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        raise StoreError(f"cannot open the app database {engine.url!r}: {reason}") from None
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start a write transaction on `session` (``BEGIN IMMEDIATE`` on SQLite).

    A transaction already open on the session is committed first, so call this before the reads
    that a write depends on.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_IMMEDIATE: True})
