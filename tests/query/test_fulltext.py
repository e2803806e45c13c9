"""SOSL on the full-text index (SQLite FTS5, PostgreSQL tsvector + GIN): the same results as the
LIKE pre-filter on every conformance search, the index really used, and kept in step with writes."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, text

from crm_core.db import make_engine
from crm_core.query import fulltext, run_sosl, sosl
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


def test_the_index_follows_inserts_updates_and_deletes(own_query_org_url: str) -> None:
    engine = make_engine(own_query_org_url)
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
                text(
                    'INSERT INTO "Issue__c" ("Id", "Name", "Description__c", "CreatedDate", "LastModifiedDate") '
                    "VALUES (:i, :n, :d, :c, :c)"
                ),
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


def test_non_ascii_text_ranks_as_without_the_index(own_query_org_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """FTS5 folds ``ö`` to ``o``; SOSL's word matching does not: a row with non-ASCII text is
    read and matched in Python, so its rank and membership equal those without the index."""
    engine = make_engine(own_query_org_url)
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


def _common_words(conn: Any, table: str, count: int) -> list[str]:
    """The `count` most frequent alphabetic words of `table`'s Subject (inputs for the searches)."""
    subjects = conn.execute(text(f'SELECT "Subject" FROM "{table}" WHERE "Subject" IS NOT NULL')).scalars()
    words = Counter(w for s in subjects for w in re.findall(r"[a-z]{4,}", s.lower()))
    return [w for w, _ in words.most_common(count)]


def _ranked_searches(words: list[str]) -> list[str]:
    first, second, third = words[:3]
    return [
        f"FIND {{{first}}} RETURNING Case(Id, Subject)",
        f"FIND {{{first}}} RETURNING Case(Id LIMIT 7)",
        f"FIND {{{second}}} RETURNING Case(Id LIMIT 5 OFFSET 3)",
        f"FIND {{{first} {second}}} RETURNING Case(Id, Subject)",
        f"FIND {{{first} OR {third}}} RETURNING Case(Id LIMIT 9)",
        f"FIND {{{second[:3]}*}} RETURNING Case(Id) LIMIT 11",
        f"FIND {{{first} OR {second}}} IN NAME FIELDS RETURNING Case(Id, Subject LIMIT 6)",
        f"FIND {{{first}}} RETURNING Case(Id), EmailMessage(Id LIMIT 4) LIMIT 8",
    ]


def test_the_database_ranks_where_ids_follow_row_ids(query_org_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One-word terms and AND / OR of them are ranked inside SQLite (ties by row id, as Ids ascend
    with row ids in a generated org); the results equal the LIKE pre-filter's Python ranking."""
    if not query_org_url.startswith("sqlite"):
        pytest.skip("ranking inside the database is SQLite's (FTS5 word positions)")
    engine = make_engine(query_org_url)
    ranked: list[str] = []
    original = sosl.best_matches

    def spy(conn: Any, object_name: str, *args: Any) -> Any:
        ranked.append(object_name)
        return original(conn, object_name, *args)

    try:
        with engine.connect() as conn:
            assert fulltext.ids_follow_rowids(conn, "Case")
            searches = _ranked_searches(_common_words(conn, "Case", 3))
            monkeypatch.setattr(sosl, "best_matches", spy)
            with_index = [run_sosl(conn, s)["searchRecords"] for s in searches]
            assert ranked.count("Case") == len(searches)
            monkeypatch.setattr(sosl, "has_search_index", lambda _conn: False)
            without = [run_sosl(conn, s)["searchRecords"] for s in searches]
    finally:
        engine.dispose()
    assert all(with_index), "every search finds records"
    assert with_index == without


def test_an_insert_out_of_id_order_ends_ranking_by_row_id(own_query_org_url: str) -> None:
    """An inserted row whose Id sorts before existing Ids clears the record that Ids ascend with
    row ids; SOSL then reads the matches' Ids, and still ranks ties by Id."""
    if not own_query_org_url.startswith("sqlite"):
        pytest.skip("the Id order record is SQLite's")
    engine = make_engine(own_query_org_url)
    word = "qzxorderword"
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            assert fulltext.ids_follow_rowids(conn, "Issue__c")
            last = conn.execute(text('SELECT "Id" FROM "Issue__c" ORDER BY "Id" DESC LIMIT 1')).scalar_one()
            insert = text(
                'INSERT INTO "Issue__c" ("Id", "Name", "Description__c", "CreatedDate", "LastModifiedDate") '
                "VALUES (:i, :n, :d, :c, :c)"
            )
            row = {"n": "Order test", "d": f"{word} here", "c": dt.datetime(2024, 1, 1)}
            conn.execute(insert, {**row, "i": last[:-3] + "ZZZ"})  # after every Id: the order holds
            assert fulltext.ids_follow_rowids(conn, "Issue__c")
            conn.execute(insert, {**row, "i": "a1M000000000001AAA"})  # before every Id, inserted last
            assert not fulltext.ids_follow_rowids(conn, "Issue__c")
            found = run_sosl(conn, f"FIND {{{word}}} RETURNING Issue__c(Id)")["searchRecords"]
            transaction.rollback()
            transaction = conn.begin()
            assert fulltext.ids_follow_rowids(conn, "Account")
            conn.execute(text('UPDATE "Account" SET "Id" = "Id" WHERE rowid = (SELECT min(rowid) FROM "Account")'))
            assert not fulltext.ids_follow_rowids(conn, "Account"), "any change of an Id clears the record"
            transaction.rollback()
    finally:
        engine.dispose()
    assert [r["Id"] for r in found] == ["a1M000000000001AAA", last[:-3] + "ZZZ"], "tied: by Id"


def test_a_split_index_has_a_part_per_hash_of_the_id_and_the_query_uses_each(query_org_url: str) -> None:
    """PostgreSQL: EmailMessage's index is one partial index per part of its rows, the parts
    together cover every row, and the search's condition lets the planner use each part."""
    if not query_org_url.startswith("postgresql"):
        pytest.skip("PostgreSQL splits large objects' indexes")
    from crm_core.org.search_index import PG_PARTS, pg_index_names

    parts = PG_PARTS["EmailMessage"]
    engine = make_engine(query_org_url)
    try:
        with engine.connect() as conn:
            names = {
                row.indexname
                for row in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'EmailMessage'"))
            }
            assert set(pg_index_names("EmailMessage")) <= names and len(pg_index_names("EmailMessage")) == parts
            assert "search_EmailMessage" not in names
            counts = conn.execute(
                text(f'SELECT hashtext("Id") & {parts - 1} AS part, count(*) FROM "EmailMessage" GROUP BY 1')
            ).all()
            assert {part for part, _ in counts} == set(range(parts)), "every part holds rows of the tiny org"
            conn.execute(text("SET enable_seqscan = off"))  # the tiny org is small enough to scan
            plan = sosl.sosl_plan("FIND {refund} RETURNING EmailMessage(Id)", sosl.utc_today(), "postgresql")
            statement = plan.targets[0].plan.statement.compile(dialect=conn.dialect)
            explained = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", statement.params))
            for name in pg_index_names("EmailMessage"):
                assert f'"{name}"' in explained or f" {name}" in explained, explained
    finally:
        engine.dispose()


def test_emails_added_later_are_found_whatever_part_their_id_falls_in(query_org_url: str) -> None:
    if not query_org_url.startswith("postgresql"):
        pytest.skip("PostgreSQL splits large objects' indexes")
    engine = make_engine(query_org_url)
    word = "qzvexmailword"
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            first = conn.execute(text('SELECT * FROM "EmailMessage" ORDER BY "Id" LIMIT 1')).mappings().one()
            ids = [f"02sZZ{n:013d}" for n in range(8)]
            for new_id in ids:
                row = {**first, "Id": new_id, "Subject": f"about the {word}"}
                columns = ", ".join(f'"{c}"' for c in row)
                conn.execute(
                    text(f'INSERT INTO "EmailMessage" ({columns}) VALUES ({", ".join(":" + c for c in row)})'), row
                )
            parts = {conn.execute(text("SELECT hashtext(:i) & 1"), {"i": i}).scalar_one() for i in ids}
            assert parts == {0, 1}, "the new Ids fall in both parts"
            found = run_sosl(conn, f"FIND {{{word}}} RETURNING EmailMessage(Id)")["searchRecords"]
            assert sorted(r["Id"] for r in found) == ids
            transaction.rollback()
    finally:
        engine.dispose()
