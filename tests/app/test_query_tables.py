"""Query results as display tables: REST bodies and the agents' tool observations give one shape."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from crm_core.query import run_query
from crm_core.studio.explorer import id_titles
from crm_core.studio.query_tables import name_ids, name_text, query_table, table_ids
from crm_core.tools import TOOLS
from crm_core.tools.base import ToolContext

REST = {
    "totalSize": 2,
    "done": True,
    "records": [
        {
            "attributes": {"type": "Account", "url": "/a"},
            "Id": "001A",
            "Name": "Grace",
            "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
            "Contacts": {
                "totalSize": 2,
                "done": True,
                "records": [
                    {"attributes": {"type": "Contact"}, "Id": "003A", "LastName": "Hopper"},
                    {"attributes": {"type": "Contact"}, "Id": "003B", "LastName": "Lovelace"},
                ],
            },
        },
        {"attributes": {"type": "Account", "url": "/b"}, "Id": "001B", "Name": "Alan", "Owner": None, "Contacts": None},
    ],
}


def test_children_are_expandable_records_and_parents_dotted_columns():
    table = query_table(REST)
    assert table.columns == ["Id", "Name", "Owner.Name", "Contacts"]
    assert table.rows[0] == {"Id": "001A", "Name": "Grace", "Owner.Name": "Ada", "Contacts": "2 records"}
    assert table.rows[1] == {"Id": "001B", "Name": "Alan", "Contacts": None}  # null parent: blank columns
    [child] = table.children_of(0)
    assert child.relationship == "Contacts"
    assert child.table.columns == ["Id", "LastName"]
    assert [r["LastName"] for r in child.table.rows] == ["Hopper", "Lovelace"]
    assert table.children_of(1) == []


def test_the_tool_observation_text_gives_the_same_table():
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "attributes"}
        return [strip(v) for v in value] if isinstance(value, list) else value

    observation = "Salesforce instance output: " + json.dumps(strip(REST["records"]))
    from_tool, from_rest = query_table(observation), query_table(REST)
    assert (from_tool.columns, from_tool.rows) == (from_rest.columns, from_rest.rows)
    assert from_tool.children == from_rest.children


def test_counts_maps_lists_and_errors():
    assert query_table('{"totalSize": 42}').rows == [{"totalSize": 42}]
    assert query_table({"005A": 3, "005B": 1}).rows == [{"key": "005A", "value": 3}, {"key": "005B", "value": 1}]
    assert query_table('["500A", "500B"]').columns == ["value"]
    assert query_table("[]").rows == []
    assert query_table("MALFORMED_QUERY: unexpected token: FORM") is None
    assert query_table("Error: the tool 'x' failed") is None
    assert query_table({"nested": {"a": 1}}) is None


def test_sosl_results_name_their_object():
    body = {
        "searchRecords": [
            {"attributes": {"type": "Case"}, "Id": "500A", "Subject": "Late"},
            {"attributes": {"type": "Knowledge__kav"}, "Id": "ka0A", "Title": "Returns"},
        ]
    }
    table = query_table(body)
    assert table.columns == ["Type", "Id", "Subject", "Title"]
    assert [r["Type"] for r in table.rows] == ["Case", "Knowledge__kav"]


scalar = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=8))
field = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", min_size=1, max_size=6)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.dictionaries(field, scalar, max_size=5), max_size=6))
def test_flat_records_keep_every_value_in_first_seen_column_order(records):
    table = query_table(json.dumps(records))
    assert table.rows == records
    expected_columns = list(dict.fromkeys(key for record in records for key in record))
    assert table.columns == expected_columns
    rest = {"totalSize": len(records), "done": True, "records": [{"attributes": {"type": "X"}} | r for r in records]}
    assert query_table(rest).rows == records  # the REST body reads the same


def test_real_query_and_tool_observation_agree_on_the_org(tiny_org_url):
    soql = (
        "SELECT Id, Subject, OwnerId, Owner.Name, Account.Name, (SELECT Id, Subject FROM EmailMessages) "
        "FROM Case ORDER BY Id LIMIT 5"
    )
    engine = create_engine(tiny_org_url)
    with engine.connect() as conn:
        rest = run_query(conn, soql)
        observation = TOOLS["issue_soql_query"].run(ToolContext(conn=conn), {"query": soql})
        from_rest, from_tool = query_table(rest), query_table(observation)
        names = id_titles(conn, table_ids(from_rest))
    engine.dispose()
    assert from_rest.total_size == 5 and len(from_rest.rows) == 5
    assert from_rest.children, "the tiny org's first cases have email messages"
    # the tool drops all-null columns; everything else is the same table
    kept = [c for c in from_rest.columns if any(r.get(c) is not None for r in from_rest.rows)]
    assert from_tool.columns == kept
    assert from_tool.rows == [{c: r[c] for c in kept if c in r} for r in from_rest.rows]
    assert [c.model_dump() for c in from_tool.children] == [c.model_dump() for c in from_rest.children]
    # ids show their record's name: the owner's id reads as the Owner.Name the query returned
    first = from_rest.rows[0]
    assert names[first["OwnerId"]] == first["Owner.Name"]
    named = name_ids(from_rest, names).rows[0]
    assert named["OwnerId"] == f"{first['Owner.Name']} ({first['OwnerId']})"
    assert named["Id"] == first["Id"]  # the row's own id stays bare
    answer = f"{first['OwnerId']}, none"
    assert name_text(answer, names) == f"{first['Owner.Name']} ({first['OwnerId']}), none"
