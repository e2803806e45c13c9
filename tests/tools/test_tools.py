"""Tools on a hand-built org: answers known by construction, CRMArena's observation format,
and every bad-argument path returning an `Error: ...` string instead of raising."""

from __future__ import annotations

import datetime as dt

import pytest
from handorg import HandOrg, parsed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core.org.ids import make_id
from crm_core.tools import GENERAL_TOOLS, TASK_TOOLS, TOOLS, ToolContext

D = dt.datetime
JAN, FEB = D(2024, 1, 1), D(2024, 2, 1)
H = dt.timedelta(hours=1)
P = {"start_date": "2024-01-01", "end_date": "2024-02-01T00:00:00Z"}

CRMARENA_TOOLS = {
    "get_agents_with_max_cases", "get_agents_with_min_cases", "calculate_average_handle_time", "get_start_date",
    "get_period", "get_agent_handled_cases_by_period", "get_qualified_agent_ids_by_case_count", "get_cases",
    "get_non_transferred_case_ids", "get_agent_transferred_cases_by_period", "get_shipping_state",
    "calculate_region_average_closure_times", "get_order_item_ids_by_product", "get_issue_counts",
    "find_id_with_max_value", "find_id_with_min_value", "get_account_id_by_contact_id", "get_purchase_history",
    "get_month_to_case_count", "search_knowledge_articles", "search_products", "get_issues",
    "get_email_messages_by_case_id", "get_livechat_transcript_by_case_id", "respond",
}  # fmt: skip


def test_registry_has_every_tool_of_the_spec_with_an_openai_schema() -> None:
    assert set(TASK_TOOLS) == CRMARENA_TOOLS
    assert set(GENERAL_TOOLS) == {"issue_soql_query", "issue_sosl_query"}
    for name, tool in TOOLS.items():
        schema = tool.schema()
        assert schema["type"] == "function"
        assert schema["function"]["name"] == name
        assert len(schema["function"]["description"]) > 20
        params = schema["function"]["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])
        for prop in params["properties"].values():
            assert prop.get("type") in {"string", "integer", "array", "object", "number"}


@pytest.fixture
def staffed(org: HandOrg) -> dict:
    """Three agents; a handled 3 cases in January (one transferred to b), b 1, c's case is in February."""
    a, b, c = org.agent(), org.agent(), org.agent()
    ca, ny = org.customer("CA"), org.customer("NY")
    shoe = org.product("Trail Runner Shoe", "Grippy shoe for muddy trails.")
    cap = org.product("Sun Cap")
    items = org.order(ca[0], dt.date(2024, 1, 5), [shoe, cap])
    sole = org.issue("Sole Separation")
    cases = [
        org.case(a, JAN + H, closed=JAN + 3 * H, issue=sole, order_item=items[0], customer=ca),  # 120 min
        org.case(a, JAN + 2 * H, closed=JAN + 6 * H, issue=sole, order_item=items[0], customer=ny),  # 240 min
        org.case([a, b], JAN + 3 * H, closed=JAN + 4 * H, customer=ca),  # transferred
        org.case(b, JAN + 4 * H, customer=ny),  # open
        org.case(c, FEB + H, closed=FEB + 2 * H, issue=sole, order_item=items[1], customer=ca),
        org.case(a, D(2023, 12, 31), assigned=[D(2023, 12, 31)], customer=ca),  # December
    ]
    return {"a": a, "b": b, "c": c, "cases": cases, "shoe": shoe, "cap": cap, "items": items, "sole": sole,
            "ca": ca, "ny": ny}  # fmt: skip


def test_period_tools(run) -> None:
    assert parsed(run("get_period", period_name="Winter", year=2023)) == {
        "start_date": "2023-12-01T00:00:00Z",
        "end_date": "2024-03-01T00:00:00Z",
    }
    assert parsed(run("get_period", period_name="Q2", year=2024))["end_date"] == "2024-07-01T00:00:00Z"
    assert run("get_start_date", end_date="2024-05-31", period="month", interval_count=3) == "2024-02-29T00:00:00Z"
    assert run("get_start_date", end_date="2024-06-01T12:00:00Z", period="week", interval_count=2) == (
        "2024-05-18T12:00:00Z"
    )


def test_case_count_tools(run, staffed: dict) -> None:
    a, b = staffed["a"], staffed["b"]
    handled = parsed(run("get_agent_handled_cases_by_period", **P))
    assert handled == {a: 3, b: 1}
    assert parsed(run("get_qualified_agent_ids_by_case_count", agent_handled_cases=handled, n_cases=1)) == [a]
    never = parsed(run("get_non_transferred_case_ids", **P))
    assert set(never) == {staffed["cases"][0], staffed["cases"][1], staffed["cases"][3]}
    assert parsed(run("get_agent_transferred_cases_by_period", **P, qualified_agent_ids=[a, b])) == {a: 1, b: 0}
    assert parsed(run("get_agent_transferred_cases_by_period", **P)) == {a: 1}
    cases = parsed(run("get_cases", **P, agent_ids=[a], case_ids=never, statuses=["Closed"]))
    assert [c["Id"] for c in cases] == staffed["cases"][:2]
    assert cases[0]["CreatedDate"] == "2024-01-01T01:00:00.000+0000"
    assert parsed(run("calculate_average_handle_time", cases=cases)) == {a: 180.0}
    everyone = parsed(run("get_cases", **P))
    # January's owners now: a, a, b (after the transfer), b -> tied at two each
    assert parsed(run("get_agents_with_max_cases", subset_cases=everyone)) == sorted([a, b])
    assert parsed(run("get_agents_with_max_cases", subset_cases=everyone[:3])) == [a]
    assert parsed(run("get_agents_with_min_cases", subset_cases=everyone[:3])) == [b]
    assert parsed(run("get_month_to_case_count", cases=everyone)) == {"January": 4}
    assert parsed(run("find_id_with_min_value", values_by_id={"x": 2, "y": 1.5})) == ["y"]
    assert parsed(run("find_id_with_max_value", values_by_id={"x": 2, "y": 2})) == ["x", "y"]
    assert parsed(run("find_id_with_max_value", values_by_id={})) == []


def test_product_region_and_customer_tools(run, staffed: dict) -> None:
    items = parsed(run("get_order_item_ids_by_product", product_id=staffed["shoe"]))
    assert items == [staffed["items"][0]]
    counts = parsed(run("get_issue_counts", start_date="2023-01-01", end_date="2025-01-01", order_item_ids=items))
    assert counts == {staffed["sole"]: 2}
    closed = parsed(run("get_cases", **P, statuses=["Closed"]))
    with_states = parsed(run("get_shipping_state", cases=closed))
    assert sorted(c["ShippingState"] for c in with_states) == ["CA", "CA", "NY"]
    times = parsed(run("calculate_region_average_closure_times", cases=with_states))
    assert times == {"CA": (2 * 3600 + 3600) / 2, "NY": 4 * 3600.0}
    account, contact = staffed["ca"]
    assert run("get_account_id_by_contact_id", contact_id=contact) == account
    found = parsed(run("search_products", search_term="trail shoe"))
    assert [p["Id"] for p in found] == [staffed["shoe"]]
    bought = parsed(
        run("get_purchase_history", account_id=account, purchase_date="2024-01-05T00:00:00Z",
            related_product_ids=[staffed["shoe"], staffed["cap"]])
    )  # fmt: skip
    assert sorted(b["Product2Id"] for b in bought) == sorted([staffed["shoe"], staffed["cap"]])
    other_day = run("get_purchase_history", account_id=account, purchase_date="2024-01-06",
                    related_product_ids=[staffed["shoe"]])  # fmt: skip
    assert parsed(other_day) == []
    assert [i["Name"] for i in parsed(run("get_issues"))] == ["Sole Separation"]


def test_knowledge_and_conversation_tools(org: HandOrg, run) -> None:
    agent = org.agent()
    policy = org.article("Policy: Store Credit Is Not Cash", "Store credit may never be refunded to a card.")
    org.article("Gift Cards", "Gift cards are valid for 5 years.")
    case = org.case(agent, JAN)
    org.email(case, "Second email", JAN + 2 * H)
    org.email(case, "First email", JAN + H)
    org.chat(case, "Agent: I converted your store credit into a refund.")
    found = parsed(run("search_knowledge_articles", search_term='"Store Credit Is Not Cash"'))
    assert [a["Id"] for a in found] == [policy]
    assert found[0]["Content"].startswith("Store credit may never")
    assert parsed(run("search_knowledge_articles", search_term="gift years"))[0]["Title"] == "Gift Cards"
    emails = parsed(run("get_email_messages_by_case_id", case_id=case))
    assert [e["TextBody"] for e in emails] == ["First email", "Second email"]
    chats = parsed(run("get_livechat_transcript_by_case_id", case_id=case[:15]))  # a 15-character id works too
    assert "store credit" in chats[0]["Body"]


def test_raw_query_tools_use_crmarena_observations(org: HandOrg, run) -> None:
    org.agent("Ann")
    org.agent("Bob")
    rows = parsed(run("issue_soql_query", query="SELECT Id, Name, Phone FROM User ORDER BY Name"))
    assert [r["Name"] for r in rows] == ["Ann 0", "Bob 1"]
    assert all("attributes" not in r and "Phone" not in r for r in rows)  # null in every record: dropped
    assert parsed(run("issue_soql_query", query="SELECT Id FROM User WHERE Name = 'Nobody'")) == []
    assert parsed(run("issue_soql_query", query="SELECT COUNT() FROM User")) == {"totalSize": 2}
    error = run("issue_soql_query", query="SELECT Foo FROM User")
    assert error.startswith("INVALID_FIELD: ") and "No such column 'Foo' on entity 'User'" in error
    assert run("issue_soql_query", query="SELECT Id FROM User WHERE Name = 'a' OR Name = 'b' AND Id = null").startswith(
        "MALFORMED_QUERY: "
    )
    found = parsed(run("issue_sosl_query", query="FIND {Ann} RETURNING User(Id, Name)"))
    assert [r["Name"] for r in found] == ["Ann 0"]
    assert run("issue_sosl_query", query="FIND {Ann|} RETURNING User(Id)").startswith("MALFORMED_SEARCH: ")
    assert run("respond", content="CA") == "CA"


BAD_ARGUMENTS: list[tuple[str, dict, str]] = [
    ("get_period", {}, "missing required argument 'period_name'"),
    ("get_period", {"period_name": "Monsoon", "year": 2024}, "must be one of January"),
    ("get_period", {"period_name": "Q1", "year": "2024"}, "argument 'year' must be of type integer"),
    ("get_period", {"period_name": "Q1", "year": 24}, "not a plausible year"),
    ("get_period", {"period_name": "Q1", "year": 2024, "extra": 1}, "the arguments are: period_name, year"),
    ("get_start_date", {"end_date": "05/31/2024", "period": "month", "interval_count": 3}, "is not a date"),
    ("get_start_date", {"end_date": "2024-05-31", "period": "year", "interval_count": 3}, "must be one of day"),
    ("get_start_date", {"end_date": "2024-05-31", "period": "day", "interval_count": -1}, "minimum"),
    ("get_agent_handled_cases_by_period", {"start_date": "2024-02-01", "end_date": "2024-01-01"}, "must be after"),
    ("get_agent_handled_cases_by_period", {"start_date": "2024-13-01", "end_date": "2024-12-01"}, "is not a date"),
    ("get_agent_handled_cases_by_period", {"start_date": "2024-01-01"}, "missing required argument 'end_date'"),
    ("get_qualified_agent_ids_by_case_count", {"agent_handled_cases": [], "n_cases": 1}, "must be of type object"),
    ("get_qualified_agent_ids_by_case_count", {"agent_handled_cases": {"x": "3"}, "n_cases": 1}, "integer"),
    ("get_non_transferred_case_ids", {"start_date": 2024, "end_date": "2024-02-01"}, "must be of type string"),
    ("get_agent_transferred_cases_by_period", {**P, "qualified_agent_ids": ["bob"]}, "is not a Salesforce record id"),
    ("get_agent_transferred_cases_by_period", {**P, "qualified_agent_ids": "005"}, "must be of type array"),
    ("get_cases", {}, "give at least one filter"),
    ("get_cases", {"statuses": ["Open"]}, "must be one of New, Working, Escalated, Closed"),
    ("get_cases", {"agent_ids": [make_id("Case", 1)]}, "is an id of Case, not of User"),
    ("get_cases", {"start_date": "yesterday"}, "is not a date"),
    ("get_agents_with_max_cases", {"subset_cases": [{"Id": "x"}]}, "subset_cases[0] lacks OwnerId"),
    ("get_agents_with_min_cases", {"subset_cases": ["005"]}, "must be of type object"),
    ("get_agents_with_min_cases", {"subset_cases": {"OwnerId": "x"}}, "must be of type array"),
    ("calculate_average_handle_time", {"cases": [{"OwnerId": "a", "CreatedDate": "x", "ClosedDate": None}]},
     "cases[0].CreatedDate = 'x' is not a date"),
    ("calculate_average_handle_time", {"cases": [{"OwnerId": "a", "CreatedDate": "2024-01-02",
                                                  "ClosedDate": "2024-01-01"}]}, "ClosedDate is before CreatedDate"),
    ("calculate_average_handle_time", {"cases": [{"OwnerId": "a"}]}, "lacks CreatedDate, ClosedDate"),
    ("get_shipping_state", {"cases": [{"Id": "x"}]}, "lacks AccountId"),
    ("get_shipping_state", {"cases": [{"AccountId": "nope"}]}, "is not a Salesforce record id"),
    ("calculate_region_average_closure_times", {"cases": [{"CreatedDate": "2024-01-01"}]}, "lacks ShippingState"),
    ("calculate_region_average_closure_times",
     {"cases": [{"ShippingState": "CA", "CreatedDate": 5, "ClosedDate": None}]}, "must be a date string"),
    ("get_order_item_ids_by_product", {"product_id": make_id("User", 0)}, "is an id of User, not of Product2"),
    ("get_order_item_ids_by_product", {"product_id": None}, "must be of type string"),
    ("get_issue_counts", {**P, "order_item_ids": ["x"]}, "order_item_ids[0]"),
    ("get_issue_counts", {"start_date": "2024-01-01", "order_item_ids": []}, "missing required argument 'end_date'"),
    ("get_issues", {"all": True}, "Additional properties are not allowed"),
    ("find_id_with_max_value", {"values_by_id": {"a": "1"}}, "must be of type number"),
    ("find_id_with_min_value", {"values_by_id": [1, 2]}, "must be of type object"),
    ("get_account_id_by_contact_id", {"contact_id": make_id("Contact", 99)}, "no contact with id"),
    ("get_account_id_by_contact_id", {"contact_id": "003"}, "is not a Salesforce record id"),
    ("get_purchase_history", {"account_id": make_id("Account", 0), "purchase_date": "May 3",
                              "related_product_ids": []}, "is not a date"),
    ("get_purchase_history", {"account_id": make_id("Account", 0), "purchase_date": "2024-05-03",
                              "related_product_ids": [make_id("Order", 0)]}, "not of Product2"),
    ("get_purchase_history", {"account_id": make_id("Contact", 0), "purchase_date": "2024-05-03",
                              "related_product_ids": []}, "not of Account"),
    ("get_month_to_case_count", {"cases": [{"Id": 1}]}, "lacks CreatedDate"),
    ("search_knowledge_articles", {"search_term": "   "}, "search_term is empty"),
    ("search_knowledge_articles", {"search_term": 7}, "must be of type string"),
    ("search_products", {}, "missing required argument 'search_term'"),
    ("get_email_messages_by_case_id", {"case_id": make_id("Contact", 0)}, "not of Case"),
    ("get_livechat_transcript_by_case_id", {"case_id": ""}, "is not a Salesforce record id"),
    ("respond", {"answer": "x"}, "missing required argument 'content'"),
    ("issue_soql_query", {"query": ""}, "the query is empty"),
    ("issue_soql_query", {"query": "FIND {x}"}, "use issue_sosl_query"),
    ("issue_sosl_query", {"query": "SELECT Id FROM User"}, "use issue_soql_query"),
    ("issue_sosl_query", {"q": "FIND {x}"}, "missing required argument 'query'"),
    ("create_record", {"object": "Opportunity", "fields": {}}, "argument 'object' must be one of User"),
    ("update_record", {"object": "Case", "id": "x", "fields": []}, "argument 'fields' must be of type object"),
    ("delete_record", {"object": "Case"}, "missing required argument 'id'"),
    ("get_records", {"object": "Contact", "where": {"Nope": "x"}}, "Contact has no field 'Nope'"),
    ("get_records", {"object": "Contact", "where": {}}, "argument 'where' needs at least one field"),
    ("get_records", {"object": "Contact", "where": {"Email": ["a"]}}, "a value to match must be text"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "arguments", "message"), BAD_ARGUMENTS, ids=lambda v: v if isinstance(v, str) else "")
def test_bad_arguments_return_error_strings(shared_run, name: str, arguments: dict, message: str) -> None:
    observation = shared_run(name, **arguments)
    assert observation.startswith("Error: "), observation
    assert message in observation, observation


def test_every_tool_has_a_bad_argument_case() -> None:
    assert {name for name, _, _ in BAD_ARGUMENTS} == set(TOOLS)


def test_non_dict_arguments_are_an_error() -> None:
    from crm_core.tools.base import ToolArgumentError

    with pytest.raises(ToolArgumentError):
        TOOLS["get_issues"].call(None, ["not", "a", "dict"])  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(TOOLS)), arguments=st.dictionaries(st.text(max_size=12), json_values, max_size=4))
def test_tools_never_raise(shared_run, name: str, arguments: dict) -> None:
    if all(k.isidentifier() for k in arguments):
        observation = shared_run(name, **arguments)
    else:
        observation = TOOLS[name].run(ToolContext(None, None), arguments)  # type: ignore[arg-type]
    assert isinstance(observation, str)
