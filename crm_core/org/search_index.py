# ruff: noqa: S608 - the DDL names tables and columns of the schema only.
"""The full-text index SOSL searches (built by ``generate``): SQLite FTS5, PostgreSQL GIN.

Each object with searchable fields gets an index over its ``IN ALL FIELDS`` columns, kept in step
with the rows: SQLite's FTS5 table is an external-content table updated by triggers on insert,
update and delete; PostgreSQL's index is a GIN expression index over ``to_tsvector('simple', ...)``
of the text with everything but letters and digits replaced by spaces, which the database
maintains itself (EmailMessage's in two partial indexes, one per half of its rows, built at
once). :mod:`crm_core.query.fulltext` queries it.

On SQLite two companions let SOSL rank from the index instead of re-reading the text: an
``fts5vocab`` table listing every indexed word's (row, column, position), and a partial index of
the rows whose indexed text is not plain ASCII (the only rows where FTS5's word splitting and case
folding may differ from SOSL's, so the only ones SOSL still reads and splits itself). A third,
the table ``search_id_order``, says per object whether its rows' Ids ascend with their row ids
(true as generated; triggers clear it when an insert or an Id change breaks it): SOSL then breaks
ties of relevance by row id inside the database, without looking up the Ids of every match.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine, text

from crm_core.org.metadata import ObjectDescribe, describe_org

PG_CONFIG = "'simple'::regconfig"


def index_name(object_name: str) -> str:
    return f"search_{object_name}"


def vocab_name(object_name: str) -> str:
    return f"search_{object_name}_words"


ID_ORDER = "search_id_order"


def non_ascii_name(object_name: str) -> str:
    return f"search_{object_name}_non_ascii"


def non_ascii_condition(table: str, columns: list[str]) -> str:
    """SQLite: whether a row's indexed text has a character outside ASCII (its length in characters
    differs from its length in bytes). The partial index and its query spell it identically."""
    return " OR ".join(f'length("{table}"."{c}") != length(CAST("{table}"."{c}" AS BLOB))' for c in columns)


def indexed_columns(obj: ObjectDescribe) -> list[str]:
    """The columns an object's index covers: those ``IN ALL FIELDS`` searches."""
    return [f.name for f in obj.fields if f.searchable or f.name_field]


def pg_document(table: str, columns: list[str]) -> str:
    """The indexed expression on PostgreSQL: every column's words (runs of letters and digits)."""
    joined = " || ' ' || ".join(f'coalesce("{table}"."{c}", \'\')' for c in columns)
    return f"to_tsvector({PG_CONFIG}, regexp_replace({joined}, '[^[:alnum:]]+', ' ', 'g'))"


PG_BUILD_CONNECTIONS = 2
"""PostgreSQL builds the objects' indexes on this many connections at once, largest first (one GIN
build uses one server core)."""

PG_PARTS: dict[str, int] = {"EmailMessage": 2}
"""Objects whose PostgreSQL index is split into this many partial indexes, one per part of the
rows by a hash of their Id, built on separate connections: PostgreSQL 15 builds one GIN index on
one core, and EmailMessage's (about 2.7 million rows at ``xl``) took as long as all the other
objects' together. A query asks each part (:func:`pg_parts`); the planner ORs their bitmaps."""


def pg_parts(table: str) -> list[str]:
    """The conditions selecting each part of `table`'s rows (none when it is not split)."""
    parts = PG_PARTS.get(table, 1)
    return [] if parts == 1 else [f'(hashtext("{table}"."Id") & {parts - 1}) = {part}' for part in range(parts)]


def pg_index_names(table: str) -> list[str]:
    """The names of `table`'s PostgreSQL index, or of its parts' indexes."""
    parts = PG_PARTS.get(table, 1)
    return [index_name(table)] if parts == 1 else [f"{index_name(table)}_{part}" for part in range(parts)]


def build_search_index(engine: Engine) -> None:
    """Create (or recreate) the index of every object; names come from the schema only.

    SQLite builds them in one transaction; PostgreSQL builds each object's in a transaction of
    its own, :data:`PG_BUILD_CONNECTIONS` at a time."""
    jobs = [(obj.name, columns) for obj in describe_org().values() if (columns := indexed_columns(obj))]
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for table, columns in jobs:
                _build_sqlite(conn, table, columns)
        return
    with engine.begin() as conn:
        size = {table: _table_size(conn, table) / PG_PARTS.get(table, 1) for table, _ in jobs}
        for table in PG_PARTS:  # a split object's earlier indexes (the parts then build at once)
            for name in (index_name(table), *pg_index_names(table)):
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
    parts = [(table, columns, part) for table, columns in jobs for part in range(PG_PARTS.get(table, 1))]
    parts.sort(key=lambda job: size[job[0]], reverse=True)

    def build(table: str, columns: list[str], part: int) -> None:
        with engine.begin() as conn:
            _build_pg_part(conn, table, columns, part)

    with ThreadPoolExecutor(max_workers=PG_BUILD_CONNECTIONS) as pool:
        for done in [pool.submit(build, *job) for job in parts]:
            done.result()


def _table_size(conn: Connection, table: str) -> int:
    """PostgreSQL: the bytes of `table`'s rows (its TOAST included)."""
    return conn.execute(text("SELECT pg_table_size(to_regclass(:name))"), {"name": f'"{table}"'}).scalar() or 0


def _build_sqlite(conn: Connection, table: str, columns: list[str]) -> None:
    """SQLite: (re)create `table`'s FTS5 index, its triggers and companions."""
    name = index_name(table)
    quoted = ", ".join(f'"{c}"' for c in columns)
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
    vocab, non_ascii = vocab_name(table), non_ascii_name(table)
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{vocab}"')
    conn.exec_driver_sql(f'CREATE VIRTUAL TABLE "{vocab}" USING fts5vocab("{name}", instance)')
    conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{non_ascii}"')
    conn.exec_driver_sql(f'CREATE INDEX "{non_ascii}" ON "{table}"("Id") WHERE {non_ascii_condition(table, columns)}')
    _build_id_order(conn, table)


def _build_pg_part(conn: Connection, table: str, columns: list[str], part: int) -> None:
    """PostgreSQL: (re)create the GIN index of one part of `table`'s rows (the whole table when
    it is not split)."""
    name, conditions = pg_index_names(table)[part], pg_parts(table)
    where = f" WHERE {conditions[part]}" if conditions else ""
    conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
    conn.exec_driver_sql(f'CREATE INDEX "{name}" ON "{table}" USING GIN ({pg_document(table, columns)}){where}')


def _build_id_order(conn: Connection, table: str) -> None:
    """SQLite: record whether `table`'s Ids ascend with its row ids, and the triggers that clear the
    record when an insert or an Id change breaks that order."""
    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS "{ID_ORDER}" (object TEXT PRIMARY KEY, follows INTEGER NOT NULL)')
    follows = conn.exec_driver_sql(
        f'SELECT NOT EXISTS (SELECT 1 FROM (SELECT rowid AS r, lag(rowid) OVER (ORDER BY "Id") AS p FROM "{table}") '
        "WHERE r < p)"
    ).scalar_one()
    conn.exec_driver_sql(f'INSERT OR REPLACE INTO "{ID_ORDER}" VALUES (?, ?)', (table, int(follows)))
    broken = f"UPDATE \"{ID_ORDER}\" SET follows = 0 WHERE object = '{table}';"
    inserted = f'new."Id" < (SELECT max("Id") FROM "{table}") OR new.rowid < (SELECT max(rowid) FROM "{table}")'
    for event, when in (("INSERT", f" WHEN {inserted}"), ('UPDATE OF "Id"', "")):
        trigger = f"{ID_ORDER}_{table}_{event.split()[0].lower()}"
        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{trigger}"')
        conn.exec_driver_sql(f'CREATE TRIGGER "{trigger}" AFTER {event} ON "{table}"{when} BEGIN {broken} END')
