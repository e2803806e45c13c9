"""SOSL on the full-text index (SQLite FTS5, PostgreSQL tsvector + GIN): the same results as the
LIKE pre-filter on every conformance search, the index really used, and kept in step with writes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import Engine, text

from crm_core.db import make_engine
from crm_core.query import run_sosl, sosl
from crm_core.query.fulltext import has_search_index, term_query
from tests.query.test_conformance_sosl import CASES


def test_the_org_has_the_index(query_engine: Engine) -> None:
    with query_engine.connect() as conn:
        assert has_search_index(conn)


@pytest.mark.parametrize("name", sorted(CASES))
def test_index_and_like_prefilter_agree(
    name: str, query_engine: Engine, org_data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = CASES[name](org_data).query
    with_index = run_sosl(query_engine, query)
    monkeypatch.setattr(sosl, "has_search_index", lambda _conn: False)
    assert run_sosl(query_engine, query) == with_index


def test_the_statement_uses_the_index(query_engine: Engine) -> None:
    with query_engine.connect() as conn:
        plan = sosl.sosl_plan(
            "FIND {warranty OR sho*} RETURNING Knowledge__kav(Id)", sosl.utc_today(), conn.dialect.name
        )
        sql = str(plan.targets[0].plan.statement.compile(dialect=conn.dialect))
    assert ("MATCH" in sql) if conn.dialect.name == "sqlite" else ("@@ to_tsquery" in sql)
    assert "warranty" not in sql, "search words are bound parameters"


@pytest.mark.parametrize(
    ("tokens", "sqlite", "postgresql"),
    [
        (("summit", "3"), '"summit" AND "3"', "'summit' & '3'"),
        ((re.compile("sho.*"),), '"sho"*', "'sho':*"),
        ((re.compile("s.oe"),), '"s"*', "'s':*"),
        (("café",), '"café"', None),
        ((), None, None),
    ],
)
def test_term_queries(tokens: tuple, sqlite: str | None, postgresql: str | None) -> None:
    assert term_query(tokens, "sqlite") == sqlite
    assert term_query(tokens, "postgresql") == postgresql


def test_the_index_follows_inserts_updates_and_deletes(query_org_url: str) -> None:
    engine = make_engine(query_org_url)
    word = "zyxquartzword"
    search = f"FIND {{{word}}} RETURNING Knowledge__kav(Id, Title)"
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            article = conn.execute(text('SELECT "Id", "Title" FROM "Knowledge__kav" ORDER BY "Id" LIMIT 1')).one()
            assert run_sosl(conn, search)["searchRecords"] == []
            conn.execute(
                text('UPDATE "Knowledge__kav" SET "Title" = :t WHERE "Id" = :i'),
                {"t": f"{article.Title} {word}", "i": article.Id},
            )
            assert [r["Id"] for r in run_sosl(conn, search)["searchRecords"]] == [article.Id]
            conn.execute(
                text('UPDATE "Knowledge__kav" SET "Title" = :t WHERE "Id" = :i'), {"t": article.Title, "i": article.Id}
            )
            assert run_sosl(conn, search)["searchRecords"] == []
            conn.execute(
                text('INSERT INTO "Issue__c" ("Id", "Name", "Description__c", "CreatedDate") VALUES (:i, :n, :d, :c)'),
                {
                    "i": "a1MHs00zzzzzzzzIII",
                    "n": "Test issue",
                    "d": f"{word} appears here",
                    "c": dt.datetime(2024, 1, 1),
                },
            )
            found = run_sosl(conn, f"FIND {{{word}}} RETURNING Issue__c(Id)")["searchRecords"]
            assert [r["Id"] for r in found] == ["a1MHs00zzzzzzzzIII"]
            conn.execute(text('DELETE FROM "Issue__c" WHERE "Id" = :i'), {"i": "a1MHs00zzzzzzzzIII"})
            assert run_sosl(conn, f"FIND {{{word}}} RETURNING Issue__c(Id)")["searchRecords"] == []
            transaction.rollback()
    finally:
        engine.dispose()


def test_sqlite_ranks_from_the_word_positions(query_engine: Engine) -> None:
    with query_engine.connect() as conn:
        dialect = conn.dialect.name
        decided = [
            target.positional
            for query in ("FIND {warranty OR sho*} RETURNING Knowledge__kav(Id)", 'FIND {"return policy"}')
            for target in sosl.sosl_plan(query, sosl.utc_today(), dialect).targets
        ]
        python_only = sosl.sosl_plan("FIND {s?oe} RETURNING Knowledge__kav(Id)", sosl.utc_today(), dialect)
        assert sosl.has_word_positions(conn) == (dialect == "sqlite")
    assert all(decided) if dialect == "sqlite" else not any(decided)
    assert not python_only.targets[0].positional, "a ? inside a word is matched in Python only"


def test_non_ascii_text_ranks_as_without_the_index(query_org_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """FTS5 folds ``ö`` to ``o``; SOSL's word matching does not: a row with non-ASCII text is
    read and matched in Python, so its rank and membership equal those without the index."""
    engine = make_engine(query_org_url)
    word = "qzxword"
    texts = {
        "one and a folded one": f"{word} qzxwörd",  # SOSL: 1 occurrence (the index alone: 2)
        "two": f"{word} {word}",  # 2 occurrences
        "only folded": "qzxwörd",  # no occurrence (the index alone would find one)
    }
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            ids = conn.execute(text('SELECT "Id" FROM "Case" ORDER BY "Id" LIMIT 3')).scalars().all()
            for case_id, subject in zip(ids, texts.values(), strict=True):
                conn.execute(text('UPDATE "Case" SET "Subject" = :s WHERE "Id" = :i'), {"s": subject, "i": case_id})
            searches = [
                f"FIND {{{word}}} RETURNING Case(Id)",
                f"FIND {{{word[:4]}*}} RETURNING Case(Id)",
                f'FIND {{"{word} {word}"}} RETURNING Case(Id)',
                f"FIND {{{word} OR zzzunfound}} IN NAME FIELDS RETURNING Case(Id, Subject)",
                f"FIND {{{word}}} RETURNING Case(Id, Subject WHERE Subject != null ORDER BY Subject DESC LIMIT 5)",
                f"FIND {{{word}}} RETURNING Case(Id, Subject) WITH HIGHLIGHT",
            ]
            with_index = [run_sosl(conn, s)["searchRecords"] for s in searches]
            with monkeypatch.context() as patch:
                patch.setattr(sosl, "has_search_index", lambda _conn: False)
                without = [run_sosl(conn, s)["searchRecords"] for s in searches]
            transaction.rollback()
    finally:
        engine.dispose()
    assert with_index == without
    found = [[r["Id"] for r in records] for records in with_index]
    assert found[0] == [ids[1], ids[0]], "two occurrences rank above one; the folded word is no match"
    assert found[2] == [ids[1]]
    assert found[4] == [ids[0], ids[1]], "ORDER BY Subject DESC: 'qzxword qzxwörd' before 'qzxword qzxword'"
    assert with_index[5][0]["highlight.Subject"] == f"<mark>{word}</mark> <mark>{word}</mark>"
