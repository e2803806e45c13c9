"""Org Explorer data access: pages, filters, sorts, counts and record views on a hand-made org."""

from __future__ import annotations

import pytest
from handmade_org import ACCOUNTS, CASE_ROWS, CASES, EMAILS, USER
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from crm_core.db import make_readonly_engine
from crm_core.studio.explorer import (
    ColumnFilter,
    ExplorerError,
    SortOrder,
    list_latent,
    list_records,
    load_record,
    name_ids_in_text,
    resolve_record_id,
    with_article,
)


@pytest.fixture(scope="module")
def conn(handmade_org_url):
    engine = make_readonly_engine(handmade_org_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def ids(page) -> list[str]:
    return [row["Id"] for row in page.rows]


def test_default_page_is_newest_first(conn):
    page = list_records(conn, "Case")
    newest_first = [CASES[i] for i in sorted(range(5), key=lambda i: -CASE_ROWS[i][4])]
    assert ids(page) == newest_first
    assert (page.total, page.total_is_exact, page.page_count) == (5, True, 1)
    assert "Description" not in page.columns  # long text stays out of the table


def test_contains_is_case_insensitive_and_escapes_wildcards(conn):
    page = list_records(conn, "Case", filters=[ColumnFilter(field="Subject", op="contains", value="ship")])
    assert set(ids(page)) == {CASES[0], CASES[2], CASES[4]}
    literal = list_records(conn, "Case", filters=[ColumnFilter(field="Subject", op="contains", value="100%_")])
    assert ids(literal) == [CASES[2]]
    none = list_records(conn, "Case", filters=[ColumnFilter(field="Subject", op="contains", value="%")])
    assert ids(none) == [CASES[2]]  # '%' is a literal character, not "anything"


def test_picklist_and_reference_filters_combine(conn):
    filters = [
        ColumnFilter(field="Status", op="equals", value="New"),
        ColumnFilter(field="AccountId", op="equals", value=ACCOUNTS[0][:15]),  # the 15-character form works
    ]
    assert set(ids(list_records(conn, "Case", filters=filters))) == {CASES[0], CASES[4]}


def test_sort_puts_nulls_first_ascending_and_last_descending(conn):
    asc = list_records(conn, "Case", sort=SortOrder(field="Priority", descending=False))
    # nulls first, then alphabetical, ties broken by Id ascending
    expected_nulls = sorted([CASES[1], CASES[4]])
    assert ids(asc)[:2] == expected_nulls
    assert [row["Priority"] for row in asc.rows[2:]] == ["High", "Low", "Medium"]
    desc = list_records(conn, "Case", sort=SortOrder(field="Priority", descending=True))
    assert [row["Priority"] for row in desc.rows] == ["Medium", "Low", "High", None, None]


def test_pages_partition_the_rows_in_sql_order(conn):
    sql_order = [r[0] for r in conn.execute(text('SELECT "Id" FROM "Case" ORDER BY "CaseNumber"'))]
    sort = SortOrder(field="CaseNumber", descending=False)
    pages = [list_records(conn, "Case", sort=sort, page=p, page_size=2) for p in range(3)]
    assert [i for p in pages for i in ids(p)] == sql_order
    assert pages[0].page_count == 3


def test_count_is_capped(conn):
    page = list_records(conn, "Case", count_cap=3)
    assert (page.total, page.total_is_exact) == (3, False)


def test_parent_titles_are_resolved(conn):
    page = list_records(conn, "Case")
    assert page.parent_titles[ACCOUNTS[0]] == "Grace Hopper"
    assert page.parent_titles[USER] == "Ada Agent"


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        (ColumnFilter(field="Nope", op="equals", value="x"), "no field 'Nope' on Case"),
        (ColumnFilter(field="Description", op="contains", value="x"), "long text area"),
        (ColumnFilter(field="CreatedDate", op="<", value="yesterday"), "is not a date-time"),
        (ColumnFilter(field="Status", op="<", value="New"), "does not apply"),
        (ColumnFilter(field="Subject", op="equals", value=" "), "enter a value"),
    ],
)
def test_bad_filters_name_the_problem(conn, flt, message):
    with pytest.raises(ExplorerError, match=message):
        list_records(conn, "Case", filters=[flt])


def test_datetime_filter_accepts_salesforce_format(conn):
    flt = ColumnFilter(field="CreatedDate", op=">=", value="2024-01-01T12:00:00Z")
    # created at 09:00 + 1..5 hours: cases 3, 4 and 5 are at or after noon
    assert set(ids(list_records(conn, "Case", filters=[flt]))) == {CASES[2], CASES[3], CASES[4]}


def test_unknown_object_is_named():
    with pytest.raises(ExplorerError, match="unknown object 'Foo'"):
        resolve_record_id(CASES[0], "Foo")


def test_record_view_has_parent_links_and_child_lists(conn):
    view = load_record(conn, CASES[0])
    assert (view.object, view.title) == ("Case", "00000001")
    fields = {f.name: f for f in view.fields}
    assert fields["AccountId"].link is not None
    assert (fields["AccountId"].link.object, fields["AccountId"].link.id) == ("Account", ACCOUNTS[0])
    assert fields["AccountId"].link.title == "Grace Hopper"
    assert fields["CreatedDate"].text == "2024-01-01 10:00:00 UTC"
    assert fields["Priority"].text == "High"
    emails = next(c for c in view.children if c.relationship == "EmailMessages")
    assert [r.id for r in emails.records] == [EMAILS[2], EMAILS[1], EMAILS[0]]  # newest first
    assert (emails.total, emails.total_is_exact) == (3, True)


def test_account_lists_its_cases(conn):
    view = load_record(conn, ACCOUNTS[0], "Account", child_limit=2)
    cases = next(c for c in view.children if c.relationship == "Cases")
    assert cases.total == 3 and len(cases.records) == 2
    assert {r.id for r in cases.records} <= {CASES[0], CASES[1], CASES[4]}


def test_record_id_must_match_object(conn):
    with pytest.raises(ExplorerError, match=f"^{CASES[0]} is not an Account id: it is a Case id$"):
        load_record(conn, CASES[0], "Account")
    with pytest.raises(ExplorerError, match="no Case with id"):
        load_record(conn, CASES[0][:3] + "Hs0000000ZZZ")


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=12))
def test_contains_matches_python_substring(conn, needle):
    """Any typed text filters exactly like a case-insensitive Python substring test."""
    flt = ColumnFilter(field="Subject", op="contains", value=needle)
    if not needle.strip() or "\x00" in needle:  # nothing to look for, or a character no database stores
        with pytest.raises(ExplorerError):
            list_records(conn, "Case", filters=[flt])
        return
    expected = {CASES[i] for i, row in enumerate(CASE_ROWS) if needle.strip().lower() in row[0].lower()}
    assert set(ids(list_records(conn, "Case", filters=[flt]))) == expected


def test_parents_with_many_children_list_the_same_newest_children(conn, monkeypatch):
    """Above MANY_CHILDREN the related list walks the CreatedDate index: the result must not change."""
    from crm_core.studio import explorer

    few = [r.id for r in load_record(conn, ACCOUNTS[0], "Account").children[2].records]
    monkeypatch.setattr(explorer, "MANY_CHILDREN", 1)
    many = load_record(conn, ACCOUNTS[0], "Account")
    cases = next(c for c in many.children if c.relationship == "Cases")
    newest_first = [CASES[i] for i in sorted([0, 1, 4], key=lambda i: -CASE_ROWS[i][4])]
    assert [r.id for r in cases.records] == newest_first == few


def test_a_page_past_the_end_shows_the_last_page(conn):
    page = list_records(conn, "Case", page=40, page_size=2)
    assert (page.page, ids(page)) == (2, ids(list_records(conn, "Case", page=2, page_size=2)))
    assert len(page.rows) == 1  # five cases: pages of 2, 2 and 1
    empty = list_records(conn, "Case", filters=[ColumnFilter(field="Subject", op="equals", value="nothing")], page=3)
    assert (empty.page, empty.rows) == (0, [])


def test_ids_in_text_read_as_name_and_id(conn):
    text = f"Answer: {CASES[0]}, {ACCOUNTS[1][:15]} and 000000000000000000"
    assert name_ids_in_text(conn, text) == (
        f"Answer: 00000001 ({CASES[0]}), Alan Turing ({ACCOUNTS[1][:15]}) and 000000000000000000"
    )
    assert name_ids_in_text(conn, "None") == "None"


def test_articles_follow_the_first_letter():
    assert [with_article(w) for w in ("Account", "Case", "Order", "EmailMessage", "User")] == [
        "an Account",
        "a Case",
        "an Order",
        "an EmailMessage",
        "a User",
    ]


def test_case_history_owner_ids_and_latent_ids_get_names(tiny_org_url):
    engine = make_readonly_engine(tiny_org_url)
    with engine.connect() as connection:
        users = dict(connection.execute(text('SELECT "Id", "Name" FROM "User"')).all())
        history = list_records(connection, "CaseHistory__c", page_size=200)
        owners = {row["OldValue__c"] for row in history.rows if row["OldValue__c"] in users}
        assert owners and {history.parent_titles[o] for o in owners} == {users[o] for o in owners}
        view = load_record(connection, next(r["Id"] for r in history.rows if r["OldValue__c"] in users))
        old = next(f for f in view.fields if f.name == "OldValue__c")
        assert old.link is not None and (old.link.object, old.link.title) == ("User", users[old.link.id])
        agents = list_latent(connection, "latent_agent", page=99)
        assert agents.page == agents.page_count - 1  # clamped to the last page
        assert {agents.parent_titles[r["user_id"]] for r in agents.rows} <= set(users.values())
    engine.dispose()
