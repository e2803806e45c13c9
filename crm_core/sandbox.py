"""Sandboxes: the org plus one episode's (or session's, or token's) own changes, and nobody else's.

A sandbox is one dedicated database connection. The first write to an object creates, on that
connection only, a temporary *change table* with the object's columns (the rows it created or
changed, whole) and a temporary *view* named like the object that shadows the org's table::

    org rows whose Id is neither changed nor deleted  UNION ALL  the change table's rows

Temporary objects are searched before the org's own tables (SQLite's ``temp`` schema,
PostgreSQL's ``pg_temp``), so every reader on the connection -- SOQL, SOSL, the agent tools --
sees the overlay without knowing it, and the shared org is never written: on SQLite the file is
opened ``mode=ro``, on PostgreSQL temporary tables are the only ones a read-only session may
fill. Creating a sandbox costs nothing, a first write one small table and view, a diff reads
only the change rows and their originals by primary key, and discarding drops the temporary
objects: all independent of the org's size.

:class:`SharedOrg` is the same interface writing to the org's tables themselves (for loading
data with ``serve --writable=shared``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    delete,
    event,
    false,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.pool import QueuePool
from sqlalchemy.schema import CreateTable

from crm_core.db import is_sqlite, make_engine, normalize_url, sqlite_path
from crm_core.org.schema import MODEL_BY_OBJECT


def make_sandbox_engine(org_url: str) -> Engine:
    """An engine for sandbox connections: the org read-only, temporary objects allowed.

    The pool has no upper bound (every live sandbox holds a connection). PostgreSQL statements
    are never prepared on the server, since a prepared plan would keep reading the org's table
    after a sandbox view started to shadow it. PostgreSQL connections run in autocommit: a read
    is one round trip (no ``BEGIN``/``ROLLBACK`` around it) and :meth:`Sandbox.atomic` opens its
    writing transaction with one ``BEGIN READ WRITE``.
    """
    url = normalize_url(org_url)
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is None or not path.exists():
            raise FileNotFoundError(f"no org database at {path}: run `python -m crm_core generate` first")
        engine = create_engine(
            f"sqlite:///file:{path.resolve()}?mode=ro&uri=true",
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=-1,
            connect_args={"check_same_thread": False},
        )

        return _own_sqlite_transactions(engine)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=8,
        max_overflow=-1,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c default_transaction_read_only=on", "prepare_threshold": None},
    )


def _own_sqlite_transactions(engine: Engine) -> Engine:
    """`engine` (SQLite) issuing its own ``BEGIN``, so savepoints nest inside one transaction.

    pysqlite begins transactions only before DML, so DDL and savepoints would escape a rollback
    (and releasing the first savepoint would commit); SQLAlchemy's documented remedy: no driver
    transactions, our own BEGIN.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.execute("PRAGMA temp_store=MEMORY")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


DELETED = "sbx__deleted"  # the change tables' flag column: the record was deleted


def _columns(object_name: str) -> list[Column]:
    """Fresh copies of an object's columns (no keys, no foreign keys, no indexes)."""
    return [Column(c.name, c.type, primary_key=c.primary_key) for c in MODEL_BY_OBJECT[object_name].__table__.columns]


@dataclass(frozen=True)
class _Tables:
    """The tables of one object as a sandbox sees them, built once per process (so SQLAlchemy's
    statement cache serves every sandbox): the org's table, the change table, the visible name."""

    org: Table
    changes: Table
    visible: Table


@cache
def _tables(object_name: str, schema: str) -> _Tables:
    metadata = MetaData()
    changes = Table(
        f"sbx__{object_name}",
        metadata,
        *_columns(object_name),
        Column(DELETED, Boolean, nullable=False, default=False),
        prefixes=["TEMPORARY"],
    )
    return _Tables(
        org=Table(object_name, metadata, *_columns(object_name), schema=schema),
        changes=changes,
        visible=Table(object_name, MetaData(), *_columns(object_name)),
    )


@cache
def _overlay_ddl(object_name: str, schema: str, dialect_name: str) -> tuple[str, ...]:
    """The statements creating an object's change table and shadowing view on one connection."""
    tables = _tables(object_name, schema)
    dialect = _DIALECTS[dialect_name]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in tables.org.columns)
    temp = "temp." if dialect_name == "sqlite" else "pg_temp."
    changes = temp + quote(tables.changes.name)
    create_table = str(CreateTable(tables.changes).compile(dialect=dialect)).strip()
    view = (
        f"CREATE TEMPORARY VIEW {quote(object_name)} AS "  # noqa: S608 - identifiers only
        f"SELECT {names} FROM {quote(schema)}.{quote(object_name)} WHERE {quote('Id')} NOT IN "
        f"(SELECT {quote('Id')} FROM {changes}) "
        f"UNION ALL SELECT {names} FROM {changes} WHERE NOT {quote(DELETED)}"
    )
    return create_table, view


_DIALECTS = {"sqlite": sqlite_dialect.dialect(), "postgresql": postgresql_dialect.dialect()}
_INSERT = {"sqlite": sqlite_dialect.insert, "postgresql": postgresql_dialect.insert}


@dataclass
class RecordChange:
    """One record the sandbox created, changed or deleted, with the fields that differ."""

    object: str
    id: str
    kind: str  # "created", "updated" or "deleted"
    fields: dict[str, Any] = field(default_factory=dict)  # new values (created: all non-null fields)
    old: dict[str, Any] = field(default_factory=dict)  # previous values of changed fields


class Sandbox:
    """The org plus this sandbox's changes, read and written through :attr:`conn`.

    One sandbox serves one caller at a time (an episode, a studio session, a token); the lock
    makes concurrent calls on the same sandbox take turns instead of interleaving.
    """

    shared = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection = engine.connect()
        self.lock = threading.RLock()
        self._dialect = engine.dialect.name
        self._org_schema: str | None = None
        self._touched: set[str] = set()  # objects this sandbox wrote since its last reset
        self._depth = 0  # nesting of atomic()
        self.created = 0  # records created so far (numbers new ids)
        self._closed = False

    @property
    def _overlaid(self) -> set[str]:
        """Objects whose change table and view exist on this database connection.

        They outlive the sandbox: discarding empties the change tables and the pooled connection
        keeps them for the next sandbox, so only a connection's very first write to an object pays
        for creating them.
        """
        return self.conn.info.setdefault("sandbox_overlays", set())

    @_overlaid.setter
    def _overlaid(self, objects: set[str]) -> None:
        self.conn.info["sandbox_overlays"] = objects

    def _schema(self) -> str:
        if self._org_schema is None:
            if self._dialect == "sqlite":
                self._org_schema = "main"
            else:  # asked once per pooled connection
                if "org_schema" not in self.conn.info:
                    self.conn.info["org_schema"] = self.conn.execute(text("SELECT current_schema()")).scalar_one()
                self._org_schema = self.conn.info["org_schema"]
        return self._org_schema

    def tables(self, object_name: str) -> _Tables:
        """The org table, change table and visible name of an object."""
        if object_name not in MODEL_BY_OBJECT:
            raise KeyError(object_name)
        return _tables(object_name, self._schema())

    def _overlay(self, object_name: str) -> _Tables:
        """The tables of an object, creating its change table and view on first use."""
        tables = self.tables(object_name)
        if object_name not in self._overlaid:
            for statement in _overlay_ddl(object_name, self._schema(), self._dialect):
                self.conn.execute(text(statement))
            self._overlaid.add(object_name)
        self._touched.add(object_name)
        return tables

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A unit of writes: all kept, or none (on any exception). Units nest (savepoints)."""
        with self.lock:
            if self._depth:
                overlaid, touched = set(self._overlaid), set(self._touched)
                self._depth += 1
                try:
                    with self.conn.begin_nested():
                        yield self.conn
                except BaseException:
                    # the savepoint took its new change tables (and their rows) with it
                    self._overlaid, self._touched = overlaid, touched
                    raise
                finally:
                    self._depth -= 1
                return
            if self.conn.in_transaction():
                self.conn.commit()  # the implicit transaction of earlier reads
            if self._dialect != "sqlite":
                # Autocommit connection, read-only session: creating temporary objects needs a
                # writing transaction (filling temporary tables would not). The driver commits or
                # rolls back the transaction this statement opens.
                self.conn.exec_driver_sql("BEGIN READ WRITE")
            overlaid, touched = set(self._overlaid), set(self._touched)
            self._depth = 1
            try:
                yield self.conn
                self.conn.commit()
            except BaseException:
                self.conn.rollback()
                self._overlaid, self._touched = overlaid, touched
                raise
            finally:
                self._depth = 0

    def _unit(self) -> contextlib.AbstractContextManager[Connection]:
        """A row write's unit: its own when alone, else part of the caller's (no extra savepoint)."""
        return self.atomic() if not self._depth else contextlib.nullcontext(self.conn)

    # --- reads -------------------------------------------------------------------------------------

    def read(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """The record as this sandbox sees it, or None (never existed, or deleted)."""
        table = self.tables(object_name).visible
        with self.lock:
            row = self.conn.execute(select(table).where(table.c.Id == record_id)).mappings().first()
            self.release()
        return dict(row) if row is not None else None

    @contextlib.contextmanager
    def using(self) -> Iterator[Connection]:
        """The sandbox's connection for one call (callers take turns; its reads end afterwards)."""
        with self.lock:
            try:
                yield self.conn
            finally:
                self.release()

    def release(self) -> None:
        """End the implicit transaction of reads (so no lock or snapshot outlives a tool call)."""
        if not self._depth and self.conn.in_transaction():
            self.conn.rollback()  # reads only: nothing to keep (and a failed statement ends it too)

    def was_deleted(self, object_name: str, record_id: str) -> bool:
        """True when this sandbox deleted the record."""
        if object_name not in self._touched:
            return False
        changes = self.tables(object_name).changes
        with self.lock:
            found = self.conn.execute(select(changes.c.Id).where(changes.c.Id == record_id, changes.c[DELETED])).first()
            self.release()
        return found is not None

    # --- writes (validation is the caller's: see crm_core.writes) ------------------------------

    def insert_row(self, object_name: str, values: Mapping[str, Any]) -> None:
        """Add a new record (all its columns in `values`)."""
        with self.lock, self._unit():
            changes = self._overlay(object_name).changes
            self.conn.execute(insert(changes), {**values, DELETED: False})  # parameters: a cached statement

    def update_row(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> None:
        """Set fields of an existing record."""
        with self.lock, self._unit():
            self._change(self._overlay(object_name), record_id, dict(values))

    def delete_row(self, object_name: str, record_id: str) -> None:
        """Remove a record (it reads as deleted from then on)."""
        with self.lock, self._unit():
            self._change(self._overlay(object_name), record_id, {DELETED: True})

    def _change(self, tables: _Tables, record_id: str, values: dict[str, Any]) -> None:
        """Set `values` on the record's row in the change table, copying the org's row there first.

        A record of the org takes one statement: its row with `values` in place is inserted, or,
        when the change table has it already, only `values` are set (an upsert on the Id). A
        record this sandbox created is not in the org: then a plain update."""
        changes, org = tables.changes, tables.org
        names = list(org.columns.keys())
        deleted = literal(values[DELETED], Boolean) if DELETED in values else false()
        row = select(*(literal(values[n], org.c[n].type) if n in values else org.c[n] for n in names), deleted)
        upsert = _INSERT[self._dialect](changes).from_select([*names, DELETED], row.where(org.c.Id == record_id))
        upsert = upsert.on_conflict_do_update(
            index_elements=[changes.c.Id], set_={n: upsert.excluded[n] for n in values}
        )
        if self.conn.execute(upsert.execution_options(preserve_rowcount=True)).rowcount == 0:
            self.conn.execute(update(changes).where(changes.c.Id == record_id).values(values))

    # --- diff, reset, discard --------------------------------------------------------------------

    def diff(self) -> list[RecordChange]:
        """Every record this sandbox created, changed (the fields that differ) or deleted."""
        out: list[RecordChange] = []
        with self.lock:
            for object_name in sorted(self._touched):
                for row, before in self._changes_with_originals(self.tables(object_name)):
                    deleted = row.pop(DELETED)
                    if before is None:
                        if not deleted:
                            kept = {k: v for k, v in row.items() if v is not None}
                            out.append(RecordChange(object_name, row["Id"], "created", kept))
                    elif deleted:
                        out.append(RecordChange(object_name, row["Id"], "deleted", {}, before))
                    else:
                        changed = {k: v for k, v in row.items() if before[k] != v}
                        if changed:
                            old = {k: before[k] for k in changed}
                            out.append(RecordChange(object_name, row["Id"], "updated", changed, old))
            self.release()
        return out

    def _changes_with_originals(self, tables: _Tables) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """Each change row with the org's row of the same Id (None for a created record), in one query."""
        changes, org = tables.changes, tables.org
        names = list(org.columns.keys())
        query = (
            select(changes, *(org.c[name].label(f"org__{name}") for name in names))
            .select_from(changes.outerjoin(org, org.c.Id == changes.c.Id))
            .order_by(changes.c.Id)
        )
        out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        for mapping in self.conn.execute(query).mappings():
            row = {name: mapping[name] for name in [*names, DELETED]}
            before = {name: mapping[f"org__{name}"] for name in names} if mapping["org__Id"] is not None else None
            out.append((row, before))
        return out

    def reset(self) -> None:
        """Forget every change: the sandbox reads as the org again."""
        with self.lock:
            if self.conn.in_transaction():
                self.conn.rollback()
            if not self._touched:
                return
            if self._dialect == "sqlite":
                for object_name in sorted(self._touched):
                    self.conn.execute(delete(self.tables(object_name).changes))
            else:  # one message (autocommit runs its statements as one transaction): one round trip
                quote = _DIALECTS["postgresql"].identifier_preparer.quote
                emptied = "; ".join(
                    f"DELETE FROM pg_temp.{quote(self.tables(name).changes.name)}"  # noqa: S608 - identifiers only
                    for name in sorted(self._touched)
                )
                self.conn.exec_driver_sql(emptied, execution_options={"no_parameters": True})
            self.conn.commit()
            self._touched.clear()

    def close(self) -> None:
        """Discard the sandbox: drop its changes and give the connection back."""
        with self.lock:
            if self._closed:
                return
            try:
                self.reset()
            finally:
                self._closed = True
                self.conn.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class SharedOrg(Sandbox):
    """Writes straight into the org's tables (``serve --writable=shared``); no diff, no reset."""

    shared = True

    def _overlay(self, object_name: str) -> _Tables:
        tables = self.tables(object_name)
        return _Tables(org=tables.visible, changes=tables.visible, visible=tables.visible)

    def insert_row(self, object_name: str, values: Mapping[str, Any]) -> None:
        with self.lock, self._unit():
            self.conn.execute(insert(self.tables(object_name).visible), dict(values))

    def update_row(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> None:
        with self.lock, self._unit():
            table = self.tables(object_name).visible
            self.conn.execute(update(table).where(table.c.Id == record_id).values(dict(values)))

    def delete_row(self, object_name: str, record_id: str) -> None:
        with self.lock, self._unit():
            table = self.tables(object_name).visible
            self.conn.execute(delete(table).where(table.c.Id == record_id))

    def diff(self) -> list[RecordChange]:
        raise NotImplementedError("writes to the shared org are not tracked")

    def reset(self) -> None:
        with self.lock:
            if self.conn.in_transaction():
                self.conn.rollback()


class SandboxPool:
    """Sandboxes of one org kept by key (an API token, a workbench session), at most `limit` at
    once: the least recently used is discarded first. Thread-safe."""

    def __init__(self, org_url: str, limit: int) -> None:
        self.engine = make_sandbox_engine(org_url)
        self.limit = limit
        self._lock = threading.Lock()
        self._sandboxes: OrderedDict[Hashable, Sandbox] = OrderedDict()

    def get(self, key: Hashable) -> Sandbox:
        """The sandbox of `key`, made on first use."""
        with self._lock:
            box = self._sandboxes.get(key)
            if box is None:
                box = self._sandboxes[key] = Sandbox(self.engine)
                while len(self._sandboxes) > self.limit:
                    _, oldest = self._sandboxes.popitem(last=False)
                    oldest.close()
            self._sandboxes.move_to_end(key)
            return box

    def __len__(self) -> int:
        return len(self._sandboxes)

    def discard(self, key: Hashable) -> None:
        """Drop the sandbox of `key` (its changes are gone)."""
        with self._lock:
            box = self._sandboxes.pop(key, None)
        if box is not None:
            box.close()

    def close(self) -> None:
        """Discard every sandbox and close the engine."""
        with self._lock:
            boxes, self._sandboxes = list(self._sandboxes.values()), OrderedDict()
        for box in boxes:
            box.close()
        self.engine.dispose()


def open_shared(org_url: str) -> SharedOrg:
    """The org itself, writable (for loading data)."""
    engine = make_engine(org_url)
    return SharedOrg(_own_sqlite_transactions(engine) if engine.dialect.name == "sqlite" else engine)


def utc_now() -> dt.datetime:
    """The current UTC time without tzinfo, as the org stores datetimes, at millisecond precision."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
