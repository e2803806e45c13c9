"""Org Explorer data access on generated orgs, SQLite and PostgreSQL: pages match Python over all rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from crm_core.db import make_readonly_engine
from crm_core.studio.explorer import ColumnFilter, SortOrder, list_records, load_record


@pytest.fixture(
    params=[pytest.param("tiny_org_url", id="sqlite"), pytest.param("tiny_org_pg_url", marks=pytest.mark.postgres)]
)
def org_conn(request):
    engine = make_readonly_engine(request.getfixturevalue(request.param))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def all_cases(conn) -> list[dict]:
    rows = conn.execute(text('SELECT "Id", "Subject", "Priority", "Status", "CreatedDate", "AccountId" FROM "Case"'))
    return [dict(r._mapping) for r in rows]


def test_priority_sort_pages_follow_salesforce_null_order(org_conn):
    cases = all_cases(org_conn)
    sort = SortOrder(field="Priority", descending=False)
    pages = [list_records(org_conn, "Case", sort=sort, page=p, page_size=100) for p in range(-(-len(cases) // 100))]
    rows = [r for page in pages for r in page.rows]
    # the pages partition the table (ties are broken by Id, whatever the database's collation) ...
    assert sorted(r["Id"] for r in rows) == sorted(c["Id"] for c in cases)
    # ... in Salesforce's order: nulls first when ascending, then by value
    expected = sorted((c["Priority"] for c in cases), key=lambda v: (v is not None, v or ""))
    assert [r["Priority"] for r in rows] == expected


def test_newest_first_with_filters(org_conn):
    cases = all_cases(org_conn)
    expected = sorted(
        (c for c in cases if c["Status"] == "Closed" and "shoe" in (c["Subject"] or "").lower()),
        key=lambda c: (c["CreatedDate"], c["Id"]),
        reverse=True,
    )
    filters = [
        ColumnFilter(field="Status", op="equals", value="Closed"),
        ColumnFilter(field="Subject", op="contains", value="SHOE"),
    ]
    page = list_records(org_conn, "Case", filters=filters, page_size=1000)
    assert [r["Id"] for r in page.rows] == [c["Id"] for c in expected]
    assert (page.total, page.total_is_exact) == (len(expected), True)


def test_account_view_lists_its_cases(org_conn):
    cases = all_cases(org_conn)
    account = cases[0]["AccountId"]
    mine = [c for c in cases if c["AccountId"] == account]
    mine.sort(key=lambda c: (c["CreatedDate"], c["Id"]), reverse=True)
    view = load_record(org_conn, account, "Account", child_limit=3)
    related = next(c for c in view.children if c.relationship == "Cases")
    assert related.total == len(mine)
    assert [r.id for r in related.records] == [c["Id"] for c in mine[:3]]
