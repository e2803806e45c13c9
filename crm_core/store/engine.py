"""Opening the app store: engine setup and Alembic upgrade to head, for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout; write transactions of the store's functions start
with ``BEGIN IMMEDIATE`` (see :func:`begin_write`) so that concurrent writers queue instead of
failing. Migrations run under a lock (SQLite's write lock, a PostgreSQL advisory lock) so that
several processes starting at once upgrade the database exactly once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import DatabaseURLError, app_db_url, is_sqlite, make_engine, sqlite_path
from crm_core.errors import UserFacingError, first_line
from crm_core.store.models import AppBase

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_IMMEDIATE = "sqlite_immediate"
_PG_MIGRATION_LOCK = 0x63726D61  # advisory lock key for migrations ("crma")


class StoreError(UserFacingError):
    """The app store cannot be opened (bad URL, unreachable server, unwritable file)."""


class _FairLock:
    """A first-come, first-served lock for one SQLite file's writers in this process.

    SQLite's busy handler polls, so a thread that just committed can win the file lock again
    and again while others sleep; taking turns here first prevents that starvation. A waiter
    gives up its turn after `patience` seconds and falls back to SQLite's busy timeout.
    """

    def __init__(self, patience: float = 30.0) -> None:
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._patience = patience

    def acquire(self) -> None:
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            got_turn = self._condition.wait_for(lambda: self._serving >= ticket, timeout=self._patience)
            if not got_turn:  # skip the queue rather than wait forever (e.g. a nested writer)
                self._serving = max(self._serving, ticket)

    def release(self) -> None:
        with self._condition:
            self._serving += 1
            self._condition.notify_all()


_WRITE_LOCKS: dict[str, _FairLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
_HELD = "crm_store_write_lock"


def _write_lock(path: str) -> _FairLock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(path, _FairLock())


def _use_wal(dbapi_connection: sqlite3.Connection, wait_seconds: float = 30.0) -> None:
    """Put the file in WAL mode (it persists in the file, so only a new file needs the switch).

    The switch needs the file to itself, and SQLite answers "database is locked" at once, without
    its busy timeout, while another connection of a concurrent first start holds it: retry then.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy emit BEGIN itself, so that write transactions can use BEGIN IMMEDIATE."""
    path = str(sqlite_path(str(engine.url)) or engine.url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        _use_wal(dbapi_connection)
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # durable across app crashes in WAL mode

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(_IMMEDIATE):
            conn.exec_driver_sql("BEGIN")
            return
        lock = _write_lock(path)
        lock.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            lock.release()
            raise
        conn.info[_HELD] = lock

    def _release(info: dict) -> None:
        lock = info.pop(_HELD, None)
        if lock is not None:
            lock.release()

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        # fired just before the COMMIT; the next writer's BEGIN IMMEDIATE waits out the rest
        _release(conn.info)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Connection) -> None:
        _release(conn.info)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:  # noqa: ANN001
        _release(record.info)  # a connection returned mid-transaction must not keep the turn


def make_store_engine(url: str | None = None) -> Engine:
    """A read-write engine on the app store (no migration); `url` defaults to :func:`app_db_url`."""
    try:
        url = app_db_url(url)
    except DatabaseURLError as exc:
        raise StoreError(f"app database: {exc}") from None
    try:
        engine = make_engine(url)
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise StoreError(f"cannot create the app database {url!r}: {exc.strerror or exc}") from None
    if is_sqlite(url):
        _sqlite_transactions(engine)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the store's migrations, optionally bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


_MIGRATING = threading.Lock()
"""One migration at a time in this process: Alembic's `context` (read by `env.py`) is one global,
so two threads migrating at once could run one's migration on the other's connection."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store to `revision`, holding a lock so concurrent starts migrate once.

    A database without any table that is to reach the newest revision is built from the models
    in one step and stamped with that revision (Alembic's recipe for a new database): the schema
    the migrations would build, in about 40% of the time. Any other database, and any other
    target revision, goes through the migrations.
    """
    with _MIGRATING, engine.connect() as conn:
        conn = conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config = alembic_config(conn)
            if revision == "head" and not inspect(conn).get_table_names():
                _create_from_models(conn)
                command.stamp(config, "head")
            else:
                command.upgrade(config, revision)


def _create_from_models(conn: Connection) -> None:
    """The newest schema in an empty database: the models' tables and, on PostgreSQL, the job
    queue's schema (as migration 0006 installs it)."""
    AppBase.metadata.create_all(conn)
    if conn.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager  # only a PostgreSQL store holds the queue

        # the driver's own cursor: the schema's text is not a SQLAlchemy statement (':' and '%')
        conn.connection.dbapi_connection.cursor().execute(SchemaManager.get_schema())


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
        reason = first_line(exc) or exc.__class__.__name__
        raise StoreError(f"cannot open the app database {engine.url!r}: {reason}") from None
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def store_session(url: str | None = None) -> Iterator[Session]:
    """One session on the app store at `url` (migrated), for a command; disposes the engine after."""
    sessions = open_app_store(url)
    try:
        with sessions() as session:
            yield session
    finally:
        sessions.kw["bind"].dispose()


def begin_write(session: Session) -> None:
    """Start a write transaction on `session` (``BEGIN IMMEDIATE`` on SQLite).

    A transaction already open on the session is committed first, so call this before the reads
    that a write depends on.
    """
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_IMMEDIATE: True})


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """:func:`begin_write`, and roll back if the block raises (so no lock outlives an error).

    The block commits when it is done; an exception rolls the transaction back and propagates.
    """
    begin_write(session)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
