"""Database URLs and engines for the two databases: the org and the app store.

Both are SQLAlchemy URLs (SQLite by default, PostgreSQL for teams). Read-only engines are what
agents, tools and the studio's org views get: SQLite opens the file with ``mode=ro`` and
PostgreSQL sessions start with ``default_transaction_read_only``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_ORG_DB = "sqlite:///data/org.db"
DEFAULT_APP_DB = "sqlite:///data/app.db"


class DatabaseURLError(ValueError):
    """A database URL that cannot be used; the message is one line for the user."""


def org_db_url(explicit: str | None = None) -> str:
    """The org database URL: the explicit one, else ``CRM_ORG_DB``, else the SQLite default."""
    return normalize_url(explicit or os.environ.get("CRM_ORG_DB") or DEFAULT_ORG_DB)


def app_db_url(explicit: str | None = None) -> str:
    """The app store URL: the explicit one, else ``CRM_APP_DB``, else the SQLite default."""
    return normalize_url(explicit or os.environ.get("CRM_APP_DB") or DEFAULT_APP_DB)


def normalize_url(url: str) -> str:
    """Validate `url` and pick the psycopg 3 driver for plain ``postgresql://`` URLs."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise DatabaseURLError(f"unsupported database {backend!r} in {url!r}: use sqlite or postgresql")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """`url` with its password masked, for messages and pages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def is_sqlite(url: str) -> bool:
    """True when `url` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for in-memory or non-SQLite URLs)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    database = parsed.database
    if database.startswith("file:"):
        database = database[5:]
    return Path(database)


def _sqlite_pragmas(engine: Engine, *, fast_writes: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if fast_writes:
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
        else:
            cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def make_engine(url: str, *, fast_writes: bool = False) -> Engine:
    """A read-write engine. `fast_writes` turns off SQLite journaling for bulk generation."""
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=not is_sqlite(url))
    if is_sqlite(url):
        _sqlite_pragmas(engine, fast_writes=fast_writes)
    return engine


READONLY_CACHE_KIB = 65536


def _sqlite_timeout(url: str) -> str:
    """The ``&timeout=SECONDS`` a SQLite org URL asks for (how long a query waits for a locked file;
    SQLite's driver waits 5 s by default), or nothing."""
    timeout = make_url(url).query.get("timeout")
    if timeout is None:
        return ""
    try:
        seconds = float(timeout if isinstance(timeout, str) else timeout[-1])
    except ValueError:
        raise DatabaseURLError(f"timeout={timeout!r} in {url!r}: give seconds, such as timeout=0.5") from None
    return f"&timeout={seconds}"


def make_readonly_engine(url: str) -> Engine:
    """An engine through which nothing can be written, whatever SQL it runs; a SQLite URL's
    ``?timeout=SECONDS`` is kept."""
    url = normalize_url(url)
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is None:
            raise DatabaseURLError("a read-only org needs a SQLite file, not an in-memory database")
        if not path.exists():
            raise DatabaseURLError(f"no org database at {path}: run `python -m crm_core generate` first")
        ro_url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true{_sqlite_timeout(url)}"
        engine = create_engine(ro_url)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
            dbapi_connection.execute("PRAGMA query_only=ON")
            # up to 64 MiB of pages kept per connection (SQLite's default is 2 MiB): a search at
            # `large` reads ~10 MiB of index and rows, re-read from the OS on every query before
            with contextlib.suppress(sqlite3.OperationalError):  # a locked file: the first query reports it
                dbapi_connection.execute(f"PRAGMA cache_size=-{READONLY_CACHE_KIB}")

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"options": "-c default_transaction_read_only=on"},
    )
