"""Property tests of the query engine (hypothesis): generated and mutated queries only ever give a
result or a QueryError, never change the org, and injection attempts find nothing extra.

Each property runs the hypothesis profile's number of examples (``tests/conftest.py``: 100, or
1,000 with ``CRM_HYPOTHESIS_PROFILE=thorough``).

Queries run through a read-write engine on purpose: if any text could write, the org's digest
(a hash of every row of every table, read with plain SELECTs) would change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, text

from crm_core.db import make_engine
from crm_core.query import QueryError, run_soql, run_sosl

# A small grammar of valid SOQL over a few objects: field path -> kind of value.
FIELDS: dict[str, dict[str, str]] = {
    "Case": {
        "Id": "id",
        "CaseNumber": "string",
        "Subject": "string",
        "Status": "status",
        "Priority": "priority",
        "CreatedDate": "datetime",
        "ClosedDate": "datetime",
        "AccountId": "id",
        "Account.Name": "string",
        "Owner.Name": "string",
        "IssueId__r.Name": "string",
        "OrderItemId__r.Quantity": "number",
    },
    "OrderItem": {
        "Id": "id",
        "Quantity": "number",
        "UnitPrice": "number",
        "CreatedDate": "datetime",
        "Order.EffectiveDate": "date",
        "Product2.Name": "string",
        "Order.Account.ShippingState": "string",
    },
    "Order": {"Id": "id", "Status": "orderstatus", "EffectiveDate": "date", "Account.ShippingState": "string"},
    "Account": {
        "Id": "id",
        "Name": "string",
        "ShippingState": "string",
        "PersonEmail": "string",
        "CreatedDate": "datetime",
    },
    "Knowledge__kav": {"Id": "id", "Title": "string", "Summary": "string", "PublishStatus": "publish"},
}
PICKLISTS = {
    "status": ["New", "Working", "Escalated", "Closed"],
    "priority": ["Low", "Medium", "High"],
    "orderstatus": ["Draft", "Activated"],
    "publish": ["Online", "Draft", "Archived"],
}
RELATIVE = [
    "TODAY",
    "YESTERDAY",
    "THIS_WEEK",
    "LAST_MONTH",
    "THIS_QUARTER",
    "LAST_YEAR",
    "LAST_90_DAYS",
    "LAST_N_DAYS:7",
    "NEXT_N_DAYS:3",
    "N_DAYS_AGO:2",
    "LAST_N_MONTHS:4",
    "LAST_N_YEARS:2",
]
INJECTIONS = [
    '\'; DROP TABLE "Case"; --',
    "' OR 1=1 --",
    "' OR '1'='1",
    "x') OR ('a'='a",
    '\\\'; DELETE FROM "Account"; --',
    "%",
    "_",
    "%%' OR Name LIKE '%",
    '"; UPDATE "Case" SET "Status" = \'New\'; --',
    "Robert'); DROP TABLE Students;--",
    "1; SELECT * FROM latent_agent",
]
KEYWORDS = [
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "GROUP",
    "BY",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "HAVING",
    "NULL",
    "NULLS",
    "FIRST",
    "LAST",
    "DESC",
    "COUNT()",
    "(",
    ")",
    ",",
    "'",
    "=",
    "!=",
    "<",
    ">",
    "TODAY",
    "LAST_N_DAYS:",
    ";",
    "--",
    "/*",
    "\\",
    ":",
    "Id",
    "Name",
    "Case",
    "Account__r",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "1e9",
    "-",
    ".",
    "''",
    "%",
    "DROP",
    "TABLE",
    '"Case"',
]


def soql_string(value: str) -> str:
    """A SOQL string literal holding `value` verbatim."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def values(kind: str) -> st.SearchStrategy[str]:
    if kind == "string":
        return st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12).map(
            soql_string
        )
    if kind == "number":
        return st.one_of(st.integers(-5, 500).map(str), st.floats(-10, 1000, allow_nan=False).map(lambda f: f"{f:.2f}"))
    if kind == "date":
        return st.one_of(st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)).map(str), st.sampled_from(RELATIVE))
    if kind == "datetime":
        return st.one_of(
            st.datetimes(dt.datetime(2019, 1, 1), dt.datetime(2026, 12, 31)).map(
                lambda v: v.strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
            st.sampled_from(RELATIVE),
        )
    if kind == "id":
        return st.text(alphabet="0123456789ABCDEFabcdef", min_size=15, max_size=15).map(lambda v: f"'{v}'")
    return st.sampled_from(PICKLISTS[kind]).map(lambda v: f"'{v.lower() if len(v) % 2 else v}'")


@st.composite
def conditions(draw: st.DrawFn, obj: str, depth: int = 0) -> str:
    fields = FIELDS[obj]
    choice = draw(st.integers(0, 6 if depth < 2 else 3))
    name = draw(st.sampled_from(sorted(fields)))
    kind = fields[name]
    if choice <= 1:
        op = draw(
            st.sampled_from(
                ["=", "!=", "<", "<=", ">", ">="] if kind in ("number", "date", "datetime", "string") else ["=", "!="]
            )
        )
        return f"{name} {op} {draw(values(kind))}"
    if choice == 2:
        if kind == "string":
            return f"{name} LIKE {draw(values('string'))}"
        return f"{name} = null" if draw(st.booleans()) else f"{name} != null"
    if choice == 3:
        items = draw(st.lists(values(kind), min_size=1, max_size=4))
        return f"{name} {'NOT IN' if draw(st.booleans()) else 'IN'} ({', '.join(items)})"
    if choice == 4:
        return f"(NOT {draw(conditions(obj, depth + 1))})"
    joiner = " AND " if choice == 5 else " OR "
    parts = draw(st.lists(conditions(obj, depth + 1), min_size=2, max_size=3))
    return "(" + joiner.join(parts) + ")"


@st.composite
def soql_queries(draw: st.DrawFn) -> str:
    """A syntactically and semantically valid SOQL query of the small grammar."""
    obj = draw(st.sampled_from(sorted(FIELDS)))
    fields = FIELDS[obj]
    where = f" WHERE {draw(conditions(obj))}" if draw(st.booleans()) else ""
    if draw(st.integers(0, 4)) == 0:
        group = draw(st.sampled_from([f for f, k in fields.items() if k not in ("datetime", "number")]))
        agg = draw(
            st.sampled_from(
                ["COUNT(Id)", "COUNT_DISTINCT(Id)", "MAX(CreatedDate)" if "CreatedDate" in fields else "COUNT(Id)"]
            )
        )
        having = " HAVING COUNT(Id) > 1" if draw(st.booleans()) else ""
        return f"SELECT {group}, {agg} FROM {obj}{where} GROUP BY {group}{having}"
    selected = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=4, unique=True))
    query = f"SELECT {', '.join(selected)} FROM {obj}{where}"
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(fields)))
        query += f" ORDER BY {key}{draw(st.sampled_from(['', ' ASC', ' DESC']))}"
        query += draw(st.sampled_from(["", " NULLS FIRST", " NULLS LAST"]))
    if draw(st.booleans()):
        query += f" LIMIT {draw(st.integers(1, 50))}"
        if draw(st.booleans()):
            query += f" OFFSET {draw(st.integers(0, 30))}"
    return query


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A query with a few token- and character-level mutations."""
    query = draw(base)
    for _ in range(draw(st.integers(1, 4))):
        tokens = query.split(" ")
        kind = draw(st.integers(0, 5))
        i = draw(st.integers(0, max(len(tokens) - 1, 0)))
        if kind == 0 and len(tokens) > 1:
            del tokens[i]
        elif kind == 1:
            tokens.insert(i, draw(st.sampled_from(KEYWORDS + INJECTIONS)))
        elif kind == 2:
            tokens[i] = draw(st.sampled_from(KEYWORDS))
        elif kind == 3 and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        query = " ".join(tokens)
        if kind == 4 and query:
            j = draw(st.integers(0, len(query) - 1))
            query = query[:j] + draw(st.characters(codec="utf-8", exclude_categories=("Cs",))) + query[j:]
        elif kind == 5 and query:
            j = draw(st.integers(0, len(query) - 1))
            query = query[:j] + query[j + 1 :]
    return query


SOSL_RESERVED = "?&|!{}[]()^~*:\\\"'+-"


@st.composite
def sosl_queries(draw: st.DrawFn) -> str:
    words = draw(
        st.lists(
            st.text(alphabet="abcdefghijklmnoprstuvwy0123456789*?\"'-()&|!\\ ", min_size=1, max_size=8),
            min_size=1,
            max_size=3,
        )
    )
    term = draw(st.sampled_from([" ", " AND ", " OR ", " AND NOT "])).join(words)
    scope = draw(st.sampled_from(["", " IN ALL FIELDS", " IN NAME FIELDS", " IN EMAIL FIELDS", " IN PHONE FIELDS"]))
    returning = draw(
        st.sampled_from(
            [
                "",
                " RETURNING Case(Id, Subject)",
                " RETURNING Knowledge__kav(Id, Title WHERE PublishStatus = 'Online' LIMIT 5)",
                " RETURNING Account(Id, Name ORDER BY Name), Contact(Id)",
                " RETURNING Case(Id WHERE CreatedDate = LAST_YEAR)",
            ]
        )
    )
    return f"FIND {{{term}}}{scope}{returning}" + draw(st.sampled_from(["", " LIMIT 10"]))


def org_digest(engine: Engine) -> str:
    """SHA-256 over every row of every table (names from the database, not from the schema)."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            digest.update(table.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def writable_engine(query_org_url: str) -> Iterator[Engine]:
    """A read-write engine: the engine itself, not the connection, must keep the org unchanged."""
    engine = make_engine(query_org_url)
    before = org_digest(engine)
    yield engine
    assert org_digest(engine) == before, "a query changed the org"
    engine.dispose()


@pytest.fixture(autouse=True)
def strict_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Internal failures propagate instead of becoming a generic UNKNOWN_EXCEPTION QueryError."""
    monkeypatch.setenv("CRM_QUERY_STRICT", "1")


def result_or_query_error(engine: Engine, query: str, *, sosl: bool = False) -> dict | None:
    try:
        result = run_sosl(engine, query) if sosl else run_soql(engine, query, today=dt.date(2024, 6, 15))
    except QueryError as error:
        rest = error.to_rest()
        assert isinstance(rest, list) and rest and {"errorCode", "message"} <= set(rest[0]), rest
        assert rest[0]["errorCode"].replace("_", "").isalpha() and rest[0]["errorCode"].isupper(), rest
        assert rest[0]["errorCode"] != "UNKNOWN_EXCEPTION", rest
        assert "Traceback" not in rest[0]["message"], rest
        return None
    assert isinstance(result, dict)
    return result


def test_valid_queries_give_results(writable_engine: Engine) -> None:
    @given(soql_queries())
    @example("SELECT Id FROM Case WHERE Subject = '\\'; DROP TABLE \"Case\"; --'")
    def run(query: str) -> None:
        result = result_or_query_error(writable_engine, query)
        assert result is not None, f"valid query rejected: {query}"
        assert result["totalSize"] == len(result["records"])
        if " LIMIT " in query:
            assert len(result["records"]) <= int(query.split(" LIMIT ")[1].split()[0])

    run()


def test_mutated_queries_give_result_or_query_error(writable_engine: Engine) -> None:
    @given(mutated(soql_queries()))
    @example('SELECT Id FROM Case; DROP TABLE "Case"')
    @example("SELECT Id FROM Case WHERE Subject = 'x' OR 1=1")
    @example("SELECT Id FROM latent_agent")
    @example("SELECT Id FROM Case WHERE Id IN (SELECT user_id FROM latent_agent)")
    @example("SELECT Id, (SELECT Id FROM Cases) FROM Account WHERE Name = '")
    @example("SELECT COUNT( FROM Case")
    def run(query: str) -> None:
        result_or_query_error(writable_engine, query)

    run()


def test_random_text_gives_result_or_query_error(writable_engine: Engine) -> None:
    @given(st.text(max_size=80))
    def run(query: str) -> None:
        result_or_query_error(writable_engine, query)
        result_or_query_error(writable_engine, "SELECT Id FROM Case WHERE " + query)

    run()


def test_sosl_queries_give_result_or_query_error(writable_engine: Engine) -> None:
    @given(st.one_of(sosl_queries(), mutated(sosl_queries())))
    @example('FIND {\'; DROP TABLE "Case"; --} RETURNING Case(Id)')
    @example("FIND {x} RETURNING latent_agent(user_id)")
    def run(query: str) -> None:
        result = result_or_query_error(writable_engine, query, sosl=True)
        if result is not None:
            assert isinstance(result["searchRecords"], list)

    run()


# --- injection attempts find nothing extra ------------------------------------------------------------

PAYLOADS = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(alphabet="abcxyz '\";-=()%_*/\\OR1", min_size=1, max_size=20),
)


def _rows(engine: Engine, table: str, *columns: str) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f'SELECT {cols} FROM "{table}"'))]


def test_string_literal_injection(writable_engine: Engine) -> None:
    accounts = _rows(writable_engine, "Account", "Id", "Name")

    @given(PAYLOADS)
    def run(payload: str) -> None:
        result = run_soql(writable_engine, f"SELECT Id FROM Account WHERE Name = {soql_string(payload)}")
        want = {i for i, name in accounts if name.lower() == payload.lower()}
        assert {r["Id"] for r in result["records"]} == want
        result = run_soql(writable_engine, f"SELECT Id FROM Account WHERE Name IN ({soql_string(payload)}, 'zz')")
        assert {r["Id"] for r in result["records"]} == want | {i for i, name in accounts if name.lower() == "zz"}

    run()


def test_like_pattern_injection(writable_engine: Engine) -> None:
    cases = _rows(writable_engine, "Case", "Id", "Subject")

    @given(st.text(alphabet="abcdeinorstu '\";-=()%_*/OR1", min_size=1, max_size=12))
    def run(payload: str) -> None:
        pattern = payload.replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")
        result = run_soql(writable_engine, f"SELECT Id FROM Case WHERE Subject LIKE '%{pattern}%'")
        want = {i for i, subject in cases if subject is not None and payload.lower() in subject.lower()}
        assert {r["Id"] for r in result["records"]} == want

    run()


def test_sosl_term_injection(writable_engine: Engine) -> None:
    accounts = {i: name for i, name in _rows(writable_engine, "Account", "Id", "Name")}

    @given(PAYLOADS)
    def run(payload: str) -> None:
        escaped = "".join("\\" + c if c in SOSL_RESERVED else c for c in payload)
        words = [w for w in "".join(c if c.isalnum() else " " for c in payload.lower()).split()]
        try:
            result = run_sosl(writable_engine, f"FIND {{{escaped}}} IN NAME FIELDS RETURNING Account(Id, Name)")
        except QueryError:
            return  # e.g. a term with nothing searchable left, or too short
        for record in result["searchRecords"]:
            assert record["attributes"]["type"] == "Account"
            name_words = "".join(c if c.isalnum() else " " for c in accounts[record["Id"]].lower()).split()
            assert words and all(w in name_words for w in words), (payload, record)

    run()


# --- the rest of the grammar (issue 12) ------------------------------------------------------------------

SCOPES = ["everything", "mine", "MRU", "team", "delegated"]
SECURITY = ["SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"]
TAILS = [
    "",
    " FOR VIEW",
    " FOR REFERENCE",
    " UPDATE TRACKING",
    " UPDATE VIEWSTAT",
    " FOR UPDATE",
    " FOR VIEW UPDATE TRACKING",
]


@st.composite
def with_no_effect_clauses(draw: st.DrawFn) -> tuple[str, str]:
    """A plain query and the same query with clauses that change nothing in a local org."""
    obj = draw(st.sampled_from(sorted(FIELDS)))
    fields = FIELDS[obj]
    selected = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True))
    where = f" WHERE {draw(conditions(obj))}" if draw(st.booleans()) else ""
    order = f" ORDER BY Id LIMIT {draw(st.integers(1, 30))}"
    scope = f" USING SCOPE {draw(st.sampled_from(SCOPES))}" if draw(st.booleans()) else ""
    security = f" WITH {draw(st.sampled_from(SECURITY))}" if draw(st.booleans()) else ""
    tail = draw(st.sampled_from(TAILS))
    head = f"SELECT {', '.join(selected)} FROM {obj}"
    return head + where + order, head + scope + where + security + order + tail


def test_clauses_without_effect_change_nothing(writable_engine: Engine) -> None:
    @given(with_no_effect_clauses())
    def run(pair: tuple[str, str]) -> None:
        plain, decorated = pair
        today = dt.date(2024, 6, 15)
        assert run_soql(writable_engine, decorated, today=today) == run_soql(writable_engine, plain, today=today)

    run()


GROUPABLE = {obj: [f for f, k in fields.items() if k not in ("datetime", "number")] for obj, fields in FIELDS.items()}


@st.composite
def rollups(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    obj = draw(st.sampled_from(sorted(FIELDS)))
    keys = draw(st.lists(st.sampled_from(GROUPABLE[obj]), min_size=1, max_size=3, unique=True))
    kind = draw(st.sampled_from(["ROLLUP", "CUBE"]))
    where = f" WHERE {draw(conditions(obj))}" if draw(st.booleans()) else ""
    flags = "".join(f", GROUPING({k}) g{i}" for i, k in enumerate(keys))
    selected = ", ".join(f"{k} k{i}" for i, k in enumerate(keys))
    query = f"SELECT {selected}{flags}, COUNT(Id) n FROM {obj}{where} GROUP BY {kind}({', '.join(keys)})"
    return query, f"SELECT COUNT() FROM {obj}{where}", keys


@pytest.mark.slow
def test_rollup_and_cube_subtotals_add_up(writable_engine: Engine) -> None:
    """Every grouping set's rows sum to the grand total, which equals COUNT() of the same filter."""

    @given(rollups())
    def run(spec: tuple[str, str, list[str]]) -> None:
        query, count_query, keys = spec
        today = dt.date(2024, 6, 15)
        records = run_soql(writable_engine, query, today=today)["records"]
        total = run_soql(writable_engine, count_query, today=today)["totalSize"]
        by_set: dict[tuple, int] = {}
        for record in records:
            flags = tuple(record[f"g{i}"] for i in range(len(keys)))
            assert set(flags) <= {0, 1}
            by_set[flags] = by_set.get(flags, 0) + record["n"]
        grand = tuple(1 for _ in keys)
        assert by_set.get(grand, 0) == total or (total == 0 and by_set.get(grand) == 0)
        assert all(n == total for n in by_set.values()), by_set
        if "ROLLUP" in query:
            assert len(by_set) == (len(keys) + 1 if total else len(by_set))

    run()


@st.composite
def wrapped_selects(draw: st.DrawFn) -> str:
    """SELECT lists mixing FORMAT, toLabel, convertCurrency, TYPEOF and FIELDS, possibly mutated."""
    items = draw(
        st.lists(
            st.sampled_from(
                [
                    "Id",
                    "FORMAT(CreatedDate) c",
                    "toLabel(Status)",
                    "toLabel(Priority) p",
                    "TYPEOF Owner WHEN User THEN Name, Email ELSE Alias END",
                    "FORMAT(ClosedDate)",
                    "FIELDS(CUSTOM)",
                    "FIELDS(STANDARD)",
                ]
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    return f"SELECT {', '.join(items)} FROM Case ORDER BY CaseNumber LIMIT {draw(st.integers(1, 250))}"


def test_wrapped_and_expanded_selects_give_result_or_query_error(writable_engine: Engine) -> None:
    with writable_engine.connect() as conn:
        cases = conn.execute(text('SELECT count(*) FROM "Case"')).scalar_one()

    @given(st.one_of(wrapped_selects(), mutated(wrapped_selects())))
    @example("SELECT Id FROM Case ORDER BY CaseNumber ")  # a mutation once dropped the LIMIT
    @example("SELECT FIELDS(ALL) FROM Case LIMIT 201")
    @example("SELECT TYPEOF Owner WHEN User THEN Name END FROM Case WITH DATA CATEGORY Products__c AT All__c")
    def run(query: str) -> None:
        result = result_or_query_error(writable_engine, query)
        if result is not None:  # a mutation may have dropped the LIMIT: then every case
            limit = re.search(r"\bLIMIT\s+(\d+)", query, re.IGNORECASE)
            assert len(result["records"]) <= (int(limit.group(1)) if limit else cases)

    run()
