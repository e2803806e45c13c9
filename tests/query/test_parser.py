"""Unit tests of the lexer, parser, date literals, binder and planner (no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from crm_core.org.ids import make_id
from crm_core.query import ast
from crm_core.query.binder import Binder, BoundCompare, BoundField, BoundIn, BoundRange, ChildSelect, normalize_id
from crm_core.query.dates import literal_range, parse_datetime
from crm_core.query.errors import QueryError
from crm_core.query.lexer import Kind, StringValue, tokenize
from crm_core.query.parser import parse_soql
from crm_core.query.planner import format_datetime, plan_query

TODAY = dt.date(2024, 3, 13)


def soql_literal(text: str) -> str:
    """Quote `text` as a SOQL string literal (Salesforce's escapes, written independently)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
    return f"'{escaped}'"


# --- lexer -----------------------------------------------------------------------------------------


def test_lexer_kinds_and_offsets():
    tokens = tokenize("SELECT Id FROM Case WHERE CreatedDate > 2024-01-31T10:00:00Z AND Amount <> -1.5")
    assert [(t.kind, t.text, t.offset) for t in tokens[-8:]] == [
        (Kind.IDENT, "CreatedDate", 26),
        (Kind.OP, ">", 38),
        (Kind.DATETIME, "2024-01-31T10:00:00Z", 40),
        (Kind.IDENT, "AND", 61),
        (Kind.IDENT, "Amount", 65),
        (Kind.OP, "<>", 72),
        (Kind.NUMBER, "-1.5", 75),
        (Kind.EOF, "<EOF>", 79),
    ]
    assert tokens[-3].value == "!="  # <> is !=
    assert tokenize("x = 2024-01-31")[2].kind is Kind.DATE
    assert tokenize("x = 42")[2].value == 42 and tokenize("x = 4.5")[2].value == 4.5


def test_string_escapes_and_like_pattern():
    (token, _) = tokenize(r"'a\'b\\c\n\u0041 100\% x\_y %_'")
    assert isinstance(token.value, StringValue)
    assert token.value.value == "a'b\\c\nA 100% x_y %_"
    assert token.value.like_pattern == "a'b\\\\c\nA 100\\% x\\_y %_"


@given(st.text(max_size=40))
def test_string_literals_round_trip(text):
    (token, eof) = tokenize(soql_literal(text))
    assert token.kind is Kind.STRING and eof.kind is Kind.EOF
    assert token.value.value == text
    # in LIKE, the literal's % and _ stay wildcards and a backslash is a backslash
    assert token.value.like_pattern == text.replace("\\", "\\\\")


@given(st.text(max_size=60))
def test_lexer_gives_tokens_or_a_query_error(text):
    try:
        tokens = tokenize(text)
    except QueryError as exc:
        assert exc.error_code == "MALFORMED_QUERY" and exc.row is not None
    else:
        assert tokens[-1].kind is Kind.EOF


# --- parser ------------------------------------------------------------------------------------------


def test_parser_builds_the_tree():
    query = parse_soql(
        "SELECT Id, Account.Name, COUNT(Id) n, (SELECT Subject FROM Cases) FROM Account a "
        "WHERE (Name LIKE 'A%' OR Name = null) AND Id NOT IN (SELECT AccountId FROM Case) "
        "GROUP BY Id HAVING COUNT(Id) > 1 ORDER BY Name DESC NULLS LAST, Id LIMIT 5 OFFSET 10"
    )
    assert query.object_name == "Account" and query.alias == "a"
    assert [type(i).__name__ for i in query.select] == ["SelectField", "SelectField", "SelectField", "SelectChild"]
    assert query.select[1].expression.parts == ("Account", "Name")
    assert query.select[2].expression == ast.Call("COUNT", ast.Path(("Id",), 31, (31,)), 25)
    assert query.select[2].alias == "n"
    where = query.where
    assert isinstance(where, ast.BoolOp) and where.operator == "AND"
    assert isinstance(where.items[0], ast.BoolOp) and where.items[0].operator == "OR"
    assert isinstance(where.items[1], ast.InQuery) and where.items[1].negated
    assert [(o.descending, o.nulls_last) for o in query.order_by] == [(True, True), (False, None)]
    assert (query.limit, query.offset) == (5, 10)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT Id FROM Order ORDER BY Id",
        "SELECT Order.Status FROM OrderItem WHERE Order.Status = 'Draft'",
        "SELECT Id FROM Case WHERE NOT Status = 'New'",
        "SELECT Id FROM Case WHERE Status = 'New' AND (NOT Priority = 'High')",
        "SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:30 AND ClosedDate = null",
        "select id from case where (a = 1 or b = 2) and (c = 3 or (d = 4 and e = 5))",
        "SELECT COUNT() FROM Case",
    ],
)
def test_parser_accepts(query):
    assert isinstance(parse_soql(query), ast.Query)


@given(st.lists(st.sampled_from(["AND", "OR"]), min_size=1, max_size=6))
def test_mixing_and_or_without_parentheses_is_rejected(operators):
    query = "SELECT Id FROM Case WHERE a = 1" + "".join(f" {op} x{i} = 1" for i, op in enumerate(operators))
    if len(set(operators)) == 1:
        assert isinstance(parse_soql(query).where, ast.BoolOp)
    else:
        mixed = next(i for i, op in enumerate(operators) if op != operators[0])
        with pytest.raises(QueryError) as caught:
            parse_soql(query)
        assert caught.value.text == f"unexpected token: {operators[mixed]}"
        assert caught.value.column == query.index(f" {operators[mixed]} x{mixed} ") + 2


# --- date literals --------------------------------------------------------------------------------------


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)), st.integers(1, 400))
def test_relative_date_ranges(today, n):
    one = dt.timedelta(days=1)
    assert literal_range("TODAY", None, today) == (today, today + one)
    assert literal_range("LAST_N_DAYS", n, today) == (today - n * one, today + one)
    assert literal_range("NEXT_N_DAYS", n, today) == (today + one, today + (n + 1) * one)
    assert literal_range("N_DAYS_AGO", n, today) == (today - n * one, today - (n - 1) * one)
    for unit in ("WEEK", "MONTH", "QUARTER", "YEAR"):
        start, end = literal_range(f"THIS_{unit}", None, today)
        assert start <= today < end
        last_start, last_end = literal_range(f"LAST_{unit}", None, today)
        assert last_end == start and last_start < start
        assert literal_range(f"NEXT_{unit}", None, today)[0] == end
        assert literal_range(f"LAST_N_{unit}S", 1, today) == (last_start, last_end)
        assert literal_range(f"THIS_FISCAL_{unit}", None, today) == (start, end) or unit == "WEEK"
    week_start = literal_range("THIS_WEEK", None, today)[0]
    assert week_start.isoweekday() == 7 and (today - week_start).days < 7  # weeks start on Sunday
    quarter_start = literal_range("THIS_QUARTER", None, today)[0]
    assert quarter_start.day == 1 and quarter_start.month in (1, 4, 7, 10)
    assert literal_range("THIS_YEAR", None, today) == (dt.date(today.year, 1, 1), dt.date(today.year + 1, 1, 1))


def test_datetime_literals_become_naive_utc():
    assert parse_datetime("2024-01-31T10:00:00Z") == dt.datetime(2024, 1, 31, 10)
    assert parse_datetime("2024-01-31T10:00:00.5+02:00") == dt.datetime(2024, 1, 31, 8, 0, 0, 500000)
    assert parse_datetime("2024-01-31T01:00:00-0530") == dt.datetime(2024, 1, 31, 6, 30)
    assert format_datetime(dt.datetime(2023, 7, 2, 11, 0, 0, 123456)) == "2023-07-02T11:00:00.123+0000"


# --- ids -----------------------------------------------------------------------------------------------


@given(st.sampled_from(["Case", "Account", "User"]), st.integers(0, 10**6))
def test_ids_normalize_from_15_and_any_case_18(name, sequence):
    record_id = make_id(name, sequence)
    assert normalize_id(record_id) == record_id
    assert normalize_id(record_id[:15]) == record_id
    assert normalize_id(record_id.lower()) == record_id
    assert normalize_id(record_id.upper()) == record_id
    assert normalize_id(record_id[:14]) is None
    other_case = record_id[:15].swapcase() + record_id[15:]  # the suffix no longer fits the body
    assert normalize_id(other_case) == record_id


# --- binder --------------------------------------------------------------------------------------------


def bind(query: str):
    return Binder(query, TODAY).bind(parse_soql(query))


def test_binder_resolves_canonical_names_and_values():
    bound = bind(
        "select id, contact.owner.name, (select subject from emailmessages) from CASE "
        "where createddate = last_n_days:2 and account.shippingstate in ('ca', null) and subject like 'a\\_%'"
    )
    assert bound.object.name == "Case"
    path = bound.items[1].expression.ref
    assert [r.relationship_name for r in path.relationships] == ["Contact", "Owner"]
    assert (path.owner, path.field.name) == ("User", "Name")
    child = bound.items[2]
    assert isinstance(child, ChildSelect) and child.name == "EmailMessages"
    assert child.field == "ParentId" and child.query.object.name == "EmailMessage"
    created, state, name = bound.where.items
    assert isinstance(created, BoundRange) and (created.start, created.end) == (
        dt.datetime(2024, 3, 11),
        dt.datetime(2024, 3, 14),
    )
    assert isinstance(state, BoundIn) and state.values == ("ca",) and state.has_null
    assert isinstance(name, BoundCompare) and name.value == "a\\_%"
    assert isinstance(name.expression, BoundField) and name.expression.category == "text"


def test_binder_aggregate_names():
    bound = bind("SELECT Owner.Name, COUNT(Id), MAX(CreatedDate) latest, AVG(OrderItemId__r.Quantity) FROM Case"
                 " GROUP BY Owner.Name")  # fmt: skip
    assert bound.aggregate and [i.name for i in bound.items] == ["Name", "expr0", "latest", "expr1"]


# --- planner --------------------------------------------------------------------------------------------


def sql(query: str, dialect=sqlite.dialect()) -> str:  # noqa: B008
    return str(plan_query(bind(query)).statement.compile(dialect=dialect))


def test_planner_binds_every_value():
    query = "SELECT Id FROM Case WHERE Subject = 'Robert\\'); DROP TABLE x' OR Status IN ('New', 'Closed')"
    text = sql(query)
    assert "DROP" not in text and "New" not in text and "Robert" not in text
    assert "?" in text and "POSTCOMPILE" in text


def test_planner_uses_outer_joins_and_explicit_null_order():
    query = "SELECT Id, Contact.Owner.Name FROM Case ORDER BY Account.Name DESC, Subject NULLS LAST"
    text = sql(query)
    assert text.count("LEFT OUTER JOIN") == 3
    assert "DESC NULLS FIRST" in text and "ASC NULLS LAST" in text
    assert "COLLATE NOCASE" in text and "lower(" in sql(query, postgresql.dialect())


def test_planner_compares_ids_exactly_and_text_case_insensitively():
    case_id = make_id("Case", 3)
    text = sql(f"SELECT Id FROM Case WHERE Id = '{case_id[:15]}' AND Subject = 'X'", postgresql.dialect())
    assert '"Case"."Id" = %(Id_1)s' in text and 'lower("Case"."Subject")' in text
    plan = plan_query(bind(f"SELECT Id FROM Case WHERE Id = '{case_id[:15]}'"))
    assert case_id in plan.statement.compile().params.values()


def test_planner_puts_child_subqueries_in_their_own_select():
    plan = plan_query(bind("SELECT Id, (SELECT Id FROM Cases WHERE Status = 'New') FROM Account"))
    assert "Case" not in str(plan.statement.compile())
    (child,) = plan.children
    assert "parent_ids" in str(child.statement.compile())


def test_planner_builds_only_selects():
    for query in (
        "SELECT Id FROM Case",
        "SELECT Status, COUNT(Id) FROM Case GROUP BY Status",
        "SELECT COUNT() FROM Case",
    ):
        assert sql(query).lstrip().upper().startswith("SELECT")


def test_docs_list_every_relationship_name():
    from pathlib import Path

    from crm_core.org.metadata import describe_org

    text = (Path(__file__).parents[2] / "docs" / "query.md").read_text()
    for obj in describe_org().values():
        for described in obj.fields:
            if described.relationship_name:
                assert f"| {obj.name} | `{described.relationship_name}` |" in text
        for child in obj.child_relationships:
            assert f"| {obj.name} | `{child.name}` | {child.child_object} |" in text


def test_case_insensitive_equality_skips_lower_on_most_rows():
    ascii_text = sql("SELECT Id FROM Account WHERE Name = 'Ann Lee'", postgresql.dialect())
    assert 'octet_length("Account"."Name")' in ascii_text and 'lower("Account"."Name")' in ascii_text
    plan = plan_query(bind("SELECT Id FROM Account WHERE Name = 'Ann Lee'"))
    assert set(plan.statement.compile(dialect=postgresql.dialect()).params.values()) == {"ann lee", 7}
    accented = sql("SELECT Id FROM Account WHERE Name = 'Zoë'", postgresql.dialect())
    assert "octet_length" not in accented and 'lower("Account"."Name")' in accented
    assert "COLLATE NOCASE" in sql("SELECT Id FROM Account WHERE Name = 'Ann Lee'")


# --- acceptance gaps: exponent literals and relationship paths named in FROM -------------------------


@given(
    st.integers(0, 10**6),
    st.one_of(st.none(), st.text("0123456789", min_size=0, max_size=4)),
    st.sampled_from(["e", "E"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(0, 12),
)
def test_exponent_literals_are_one_number(whole, fraction, e, sign, exponent):
    """``<digits>[.<digits>]e[+-]<digits>`` is one NUMBER token worth mantissa × 10^exponent
    (computed here with Decimal arithmetic), a double like any literal with a decimal point."""
    from decimal import Decimal

    mantissa = str(whole) if fraction is None else f"{whole}.{fraction}"
    text = f"{mantissa}{e}{sign}{exponent}"
    tokens = tokenize(f"SELECT Id FROM OrderItem WHERE UnitPrice > {text}")
    number = tokens[-2]
    assert (number.kind, number.text, tokens[-1].kind) == (Kind.NUMBER, text, Kind.EOF)
    scale = Decimal(10) ** (-exponent if sign == "-" else exponent)
    assert number.value == float(Decimal(mantissa) * scale)
    assert isinstance(number.value, float)


@given(st.integers(0, 999), st.integers(-3, 3))
def test_an_exponent_binds_like_the_plain_number(value, exponent):
    """``UnitPrice > 12e2`` compares with the same bound value as ``UnitPrice > 1200.0``."""
    plain = value * 10.0**exponent
    with_exponent = plan_query(bind(f"SELECT Id FROM OrderItem WHERE UnitPrice > {value}e{exponent}"))
    written_out = plan_query(bind(f"SELECT Id FROM OrderItem WHERE UnitPrice > {plain:.6f}"))
    compiled = [p.statement.compile(dialect=sqlite.dialect()) for p in (with_exponent, written_out)]
    assert str(compiled[0]) == str(compiled[1])
    assert list(compiled[0].params.values()) == pytest.approx(list(compiled[1].params.values()))


# Words that cannot be aliases: Salesforce's list, and the clause words that may follow FROM.
_NOT_ALIASES = {
    *("AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST", "LIKE"),
    *("LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "USING", "WHERE", "WITH"),
    *("ORDER", "OFFSET", "FOR", "UPDATE", "TRUE", "FALSE", "RETURNING", "TYPEOF", "WHEN", "THEN", "ELSE", "END"),
}
_ALIASES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True).filter(lambda a: a.upper() not in _NOT_ALIASES)
_CASE_PARENTS = {"Account": ["Name", "ShippingState"], "Owner": ["Name", "Email"], "IssueId__r": ["Name"]}


@given(_ALIASES, _ALIASES, st.sampled_from(sorted(_CASE_PARENTS)), st.data())
def test_a_named_path_binds_like_the_dotted_path(main, named, relationship, data):
    """``SELECT n.F FROM Case m, m.R n WHERE n.F != null ORDER BY n.F`` plans to exactly the SQL
    of ``SELECT R.F FROM Case WHERE R.F != null ORDER BY R.F``, whatever the alias names."""
    if main.lower() == named.lower() or relationship.lower() in (main.lower(), named.lower()):
        return
    field = data.draw(st.sampled_from(_CASE_PARENTS[relationship]))
    aliased = (
        f"SELECT {main}.Id, {named}.{field} FROM Case {main}, {main}.{relationship} {named} "
        f"WHERE {named}.{field} != null ORDER BY {named}.{field}"
    )
    path = f"{relationship}.{field}"
    dotted = f"SELECT Id, {path} FROM Case WHERE {path} != null ORDER BY {path}"
    assert sql(aliased) == sql(dotted)
    assert plan_query(bind(aliased)).layout == plan_query(bind(dotted)).layout


@given(st.integers(1, 7), st.lists(st.from_regex(r"[A-Z][a-z]{1,6}s", fullmatch=True), min_size=7, max_size=7))
def test_child_subqueries_nest_four_levels_below_the_root(depth, names):
    """A child subquery may hold another down to four levels below the root (REST API 58.0+); a
    fifth is a syntax error at its parenthesis, whatever the relationship names."""
    inner = ""
    for name in reversed(names[1 : depth + 1]):
        inner = f"(SELECT Id{', ' + inner if inner else ''} FROM {name})"
    query = f"SELECT Id, {inner} FROM Root"
    if depth <= 4:
        tree, levels = parse_soql(query), 0
        while children := [i for i in tree.select if isinstance(i, ast.SelectChild)]:
            tree, levels = children[0].query, levels + 1
        assert levels == depth
    else:
        with pytest.raises(QueryError) as caught:
            parse_soql(query)
        assert caught.value.text == "unexpected token: '('"
        fifth = [i for i in range(len(query)) if query.startswith("(SELECT", i)][4]
        assert caught.value.column == fifth + 1, "the error points at the fifth level's parenthesis"
