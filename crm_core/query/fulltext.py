# ruff: noqa: S608 - the MATCH clause names tables and columns of the schema only; search words reach
# the database as bound parameters.
"""SOSL on the full-text index (:mod:`crm_core.org.search_index`: SQLite FTS5, PostgreSQL
``tsvector`` with a GIN index, built by ``generate`` and kept in step with the rows).

The index answers a necessary condition per search term (every
literal word of the term occurs as a word, wildcard words as a prefix); the exact SOSL semantics
(phrases, ``?``, scopes, ranking) still run on the candidates, so results equal those of the
plain ``LIKE`` pre-filter used when an org has no index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType

from crm_core.org.metadata import describe_org
from crm_core.org.search_index import (
    ID_ORDER,
    PG_CONFIG,
    index_name,
    indexed_columns,
    non_ascii_condition,
    pg_document,
    pg_parts,
    vocab_name,
)

_ASCII_WORD = re.compile(r"^[A-Za-z0-9]+$")
_indexed: set[str] = set()  # engine URLs whose org has the index
_positioned: set[str] = set()  # SQLite URLs whose index also lists word positions
_id_ordered: set[str] = set()  # SQLite URLs whose org records whether Ids ascend with row ids


def has_search_index(conn: Connection) -> bool:
    """Whether the org behind `conn` has the index (remembered per database URL once found)."""
    key = str(conn.engine.url)
    if key not in _indexed:  # only a found index is remembered: generate may build it later
        inspector = inspect(conn)
        if conn.dialect.name == "sqlite":
            found = index_name("Case") in set(inspector.get_table_names())
        else:
            found = any(i["name"] == index_name("Case") for i in inspector.get_indexes("Case"))
        if not found:
            return False
        _indexed.add(key)
    return True


def has_word_positions(conn: Connection) -> bool:
    """Whether the SQLite index also lists every word's positions and the rows with non-ASCII text
    (the ``fts5vocab`` and partial index that ``generate`` builds beside it)."""
    if conn.dialect.name != "sqlite":
        return False
    key = str(conn.engine.url)
    if key not in _positioned:
        if vocab_name("Case") not in set(inspect(conn).get_table_names()):
            return False
        _positioned.add(key)
    return True


def index_word(token: str | re.Pattern) -> tuple[str, bool] | None:
    """A SOSL term token as the index spells it, (word, is prefix), where the index finds exactly
    the words SOSL matches: ASCII letters and digits, with at most a trailing ``*``."""
    if isinstance(token, str):
        return (token, False) if _ASCII_WORD.fullmatch(token) else None
    stem = token.pattern.removesuffix(".*")
    return (stem, True) if stem != token.pattern and _ASCII_WORD.fullmatch(stem) else None


def word_positions(
    conn: Connection, object_name: str, word: str, prefix: bool, columns: list[str]
) -> list[tuple[int, str, int]]:
    """(rowid, column, position) of every occurrence of `word` (or of every word it starts, with
    `prefix`) in `columns` of `object_name`'s index; positions count words from 0 in each column."""
    vocab = vocab_name(object_name)
    matched = "term >= ? AND term < ?" if prefix else "term = ?"
    words = (word, word + "\U0010ffff") if prefix else (word,)
    listed = ", ".join("?" for _ in columns)
    sql = f'SELECT doc, col, "offset" FROM "{vocab}" WHERE {matched} AND col IN ({listed})'
    cursor = conn.connection.cursor()  # thousands of plain tuples: the DB-API cursor, no Row objects
    try:
        return cursor.execute(sql, (*words, *columns)).fetchall()
    finally:
        cursor.close()


def record_ids(
    conn: Connection, object_name: str, rowids: Iterable[int], first: int | None = None
) -> list[tuple[int, str]]:
    """(rowid, Id) of the rows `rowids` of `object_name` (bound as one JSON array), or of only the
    `first` of them by Id (read walking the Id index, not looking every row up)."""
    listed = "(SELECT value FROM json_each(?))"
    if first is None:
        sql = f'SELECT rowid, "Id" FROM "{object_name}" WHERE rowid IN {listed}'
    else:  # `+rowid`: the planner walks the Id index in order and stops after `first` rows
        sql = f'SELECT rowid, "Id" FROM "{object_name}" WHERE +rowid IN {listed} ORDER BY "Id" LIMIT {int(first)}'
    cursor = conn.connection.cursor()
    try:
        return cursor.execute(sql, (json.dumps(list(rowids)),)).fetchall()
    finally:
        cursor.close()


def ids_follow_rowids(conn: Connection, object_name: str) -> bool:
    """Whether `object_name`'s Ids ascend with its row ids (``search_id_order``, kept by triggers):
    then the order by Id is the order by row id."""
    if not has_word_positions(conn):
        return False
    key = str(conn.engine.url)
    if key not in _id_ordered:
        if ID_ORDER not in set(inspect(conn).get_table_names()):
            return False
        _id_ordered.add(key)
    found = conn.exec_driver_sql(f'SELECT follows FROM "{ID_ORDER}" WHERE object = ?', (object_name,)).first()
    return bool(found and found[0])


def best_matches(
    conn: Connection,
    object_name: str,
    terms: list[tuple[str, bool]],
    every: bool,
    columns: dict[str, bool],
    skipped: Iterable[int],
    need: int,
) -> list[tuple[int, tuple[bool, int, int]]]:
    """(rowid, score) of the `need` best rows by (score, rowid), ranked inside the database from the
    index's word positions: the score is SOSL's relevance (a hit in a name field, terms matched,
    occurrences) for `terms` (word, is prefix), all of them required when `every`, else any; only
    the searched `columns` (name: is a name field) count and the rows `skipped` are left out."""
    vocab = vocab_name(object_name)
    names = [c for c, is_name in columns.items() if is_name]
    name_hit = f"max(col IN ({', '.join('?' for _ in names)}))" if names else "0"
    # reading `col` costs: tested only when some indexed column is not searched
    every_column = set(columns) == set(indexed_columns(describe_org()[object_name]))
    searched = [] if every_column else list(columns)
    in_columns = f" AND col IN ({', '.join('?' for _ in searched)})" if searched else ""
    parts, params = [], []
    for index, (word, prefix) in enumerate(terms):
        matched = "term >= ? AND term < ?" if prefix else "term = ?"
        parts.append(
            f't{index}(doc, nm, n) AS (SELECT doc, {name_hit}, count(*) FROM "{vocab}" '
            f"WHERE {matched}{in_columns} GROUP BY doc)"
        )
        params += [*names, *((word, word + "\U0010ffff") if prefix else (word,)), *searched]
    tables = [f"t{i}" for i in range(len(terms))]
    if every:
        joins = " ".join(f"JOIN {t} USING (doc)" for t in tables[1:])
        nm = f"max({', '.join(t + '.nm' for t in tables)}, 0)"
        total = " + ".join(t + ".n" for t in tables)
        scored = f"SELECT t0.doc, {nm} AS nm, {len(tables)} AS m, {total} AS n FROM t0 {joins}"
    else:
        union = " UNION ALL ".join(f"SELECT doc, nm, n FROM {t}" for t in tables)
        scored = f"SELECT doc, max(nm) AS nm, count(*) AS m, sum(n) AS n FROM ({union}) GROUP BY doc"
    sql = f"WITH {', '.join(parts)} SELECT doc, nm, m, n FROM ({scored}) ORDER BY nm DESC, m DESC, n DESC, doc LIMIT ?"
    left_out = set(skipped)  # dropped here: cheaper than testing every match in SQL
    cursor = conn.connection.cursor()
    try:
        rows = cursor.execute(sql, (*params, need + len(left_out))).fetchall()
    finally:
        cursor.close()
    return [(doc, (bool(nm), m, n)) for doc, nm, m, n in rows if doc not in left_out][:need]


def non_ascii_rows(conn: Connection, object_name: str) -> set[int]:
    """The rowids of `object_name` whose indexed text has a non-ASCII character (read from the
    partial index, so without reading any text)."""
    condition = non_ascii_condition(object_name, indexed_columns(describe_org()[object_name]))
    return {r[0] for r in conn.exec_driver_sql(f'SELECT rowid FROM "{object_name}" WHERE {condition}')}


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

    # Not Boolean: SQLite would get ``(...) = 1``, which hides the rowid IN from its planner (a
    # scan of the whole table instead of a look-up of the matching rows).
    type = NullType()
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
    matches = f"{pg_document(table, columns)} @@ to_tsquery({PG_CONFIG}, {query})"
    parts = pg_parts(table)
    if not parts:
        return f"({matches})"
    # one arm per part, each implying its partial index's condition: a bitmap OR of the parts
    return "(" + " OR ".join(f"({matches} AND {part})" for part in parts) + ")"
