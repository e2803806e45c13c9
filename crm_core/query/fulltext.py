# ruff: noqa: S608 - the DDL and the MATCH clause name tables and columns of the schema only; search words
# reach the database as bound parameters.
"""The full-text index of SOSL: SQLite FTS5 and PostgreSQL ``tsvector`` with a GIN index.

Each object with searchable fields gets an index over its ``IN ALL FIELDS`` columns, built by
``generate`` (:func:`build_search_index`) and kept in step with the rows: SQLite's FTS5 table is an
external-content table updated by triggers; PostgreSQL's GIN index is an expression index, which
the database maintains itself. The index answers a necessary condition per search term (every
literal word of the term occurs as a word, wildcard words as a prefix); the exact SOSL semantics
(phrases, ``?``, scopes, ranking) still run on the candidates, so results equal those of the
plain ``LIKE`` pre-filter used when an org has no index.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Boolean, Connection, Engine, inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from crm_core.org.metadata import ObjectDescribe, describe_org

_PG_CONFIG = "'simple'::regconfig"
_ASCII_WORD = re.compile(r"^[A-Za-z0-9]+$")
_known: dict[str, bool] = {}  # engine URL -> whether the org has the index


def index_name(object_name: str) -> str:
    return f"search_{object_name}"


def indexed_columns(obj: ObjectDescribe) -> list[str]:
    """The columns an object's index covers: those ``IN ALL FIELDS`` searches."""
    return [f.name for f in obj.fields if f.searchable or f.name_field]


def _pg_document(table: str, columns: list[str]) -> str:
    """The indexed expression on PostgreSQL: every column's words (runs of letters and digits)."""
    joined = " || ' ' || ".join(f'coalesce("{table}"."{c}", \'\')' for c in columns)
    return f"to_tsvector({_PG_CONFIG}, regexp_replace({joined}, '[^[:alnum:]]+', ' ', 'g'))"


def build_search_index(engine: Engine) -> None:
    """Create (or recreate) the index of every object; names come from the schema only."""
    with engine.begin() as conn:
        for obj in describe_org().values():
            columns = indexed_columns(obj)
            if columns:
                _build(conn, obj.name, columns)
    _known.pop(str(engine.url), None)


def _build(conn: Connection, table: str, columns: list[str]) -> None:
    name = index_name(table)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "sqlite":
        new = ", ".join(f'new."{c}"' for c in columns)
        old = ", ".join(f'old."{c}"' for c in columns)
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        conn.exec_driver_sql(
            f'CREATE VIRTUAL TABLE "{name}" USING fts5({quoted}, content="{table}", content_rowid="rowid", '
            "tokenize='unicode61')"
        )
        conn.exec_driver_sql(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')')
        remove = f'INSERT INTO "{name}"("{name}", rowid, {quoted}) VALUES (\'delete\', old.rowid, {old});'
        add = f'INSERT INTO "{name}"(rowid, {quoted}) VALUES (new.rowid, {new});'
        for event, body in (("INSERT", add), ("DELETE", remove), ("UPDATE", remove + " " + add)):
            trigger = f"{name}_{event.lower()}"
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{trigger}"')
            conn.exec_driver_sql(f'CREATE TRIGGER "{trigger}" AFTER {event} ON "{table}" BEGIN {body} END')
    else:
        conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE INDEX "{name}" ON "{table}" USING GIN ({_pg_document(table, columns)})')


def has_search_index(conn: Connection) -> bool:
    """Whether the org behind `conn` has the index (checked once per database URL)."""
    key = str(conn.engine.url)
    if key not in _known:
        inspector = inspect(conn)
        if conn.dialect.name == "sqlite":
            _known[key] = index_name("Case") in set(inspector.get_table_names())
        else:
            _known[key] = any(i["name"] == index_name("Case") for i in inspector.get_indexes("Case"))
    return _known[key]


def shadowed(conn: Connection) -> bool:
    """Whether a sandbox shadows some object on `conn` with a temporary view (its own changes
    over the org's rows, which the index does not cover): SOSL then uses the LIKE pre-filter."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("SELECT 1 FROM sqlite_temp_master WHERE type = 'view' LIMIT 1")
    else:
        found = conn.exec_driver_sql(
            "SELECT 1 FROM pg_views WHERE schemaname = "
            "(SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()) LIMIT 1"
        )
    return found.first() is not None


def term_query(tokens: tuple[str | re.Pattern, ...], dialect: str) -> str | None:
    """The index query of one SOSL term (its words, wildcard words as prefixes), or None when the
    index cannot narrow it (a word without a literal start, or letters PostgreSQL's `[:alnum:]`
    might not treat as word characters)."""
    words: list[tuple[str, bool]] = []
    for token in tokens:
        literal = token if isinstance(token, str) else token.pattern.split(".")[0]
        if not literal or (dialect != "sqlite" and not _ASCII_WORD.match(literal)):
            return None
        words.append((literal, not isinstance(token, str)))
    if not words:
        return None
    if dialect == "sqlite":
        return " AND ".join(f'"{w}"' + ("*" if prefix else "") for w, prefix in words)
    return " & ".join(f"'{w}'" + (":*" if prefix else "") for w, prefix in words)


class ContainsWords(FunctionElement):
    """``table``'s row matches the index query (a bound parameter) of one term."""

    type = Boolean()
    inherit_cache = True
    name = "contains_words"
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("table_name", InternalTraversal.dp_string),
    ]

    def __init__(self, table: Any, query: Any) -> None:
        self.table_name = table.name
        super().__init__(query)


@compiles(ContainsWords, "sqlite")
def _sqlite_contains(element: ContainsWords, compiler: Any, **kw: Any) -> str:
    name, table = index_name(element.table_name), element.table_name
    query = compiler.process(next(iter(element.clauses)), **kw)
    return f'"{table}".rowid IN (SELECT rowid FROM "{name}" WHERE "{name}" MATCH {query})'


@compiles(ContainsWords)
def _pg_contains(element: ContainsWords, compiler: Any, **kw: Any) -> str:
    table = element.table_name
    columns = indexed_columns(describe_org()[table])
    query = compiler.process(next(iter(element.clauses)), **kw)
    return f"({_pg_document(table, columns)} @@ to_tsquery({_PG_CONFIG}, {query}))"
