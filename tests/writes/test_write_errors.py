"""Each refused write gets Salesforce's error code, message and fields; system fields are kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from crm_core.org.ids import make_id
from crm_core.query import run_soql
from crm_core.sandbox import Sandbox, make_sandbox_engine
from crm_core.writes import WriteError, create_record, delete_record, update_record, upsert_record

NOW = dt.datetime(2026, 3, 2, 10, 30, 0)


@pytest.fixture(scope="module")
def engine(tiny_org_url: str):
    engine = make_sandbox_engine(tiny_org_url)
    yield engine
    engine.dispose()


@pytest.fixture
def box(engine) -> Iterator[Sandbox]:
    with Sandbox(engine) as sandbox:
        yield sandbox


def one(box: Sandbox, soql: str) -> dict:
    return run_soql(box.conn, soql)["records"][0]


def refused(action) -> WriteError:
    with pytest.raises(WriteError) as info:
        action()
    return info.value


def new_case(box: Sandbox, **values) -> dict:
    contact = one(box, "SELECT Id, AccountId, OwnerId FROM Contact ORDER BY Id LIMIT 1")
    body = {"Subject": "Strap broke", "AccountId": contact["AccountId"], "ContactId": contact["Id"]}
    body["OwnerId"] = contact["OwnerId"]
    return {**body, **values}


def test_required_fields_missing_are_listed(box: Sandbox) -> None:
    error = refused(lambda: create_record(box, "Contact", {"FirstName": "Ada"}))
    assert error.error_code == "REQUIRED_FIELD_MISSING"
    assert error.fields == ["LastName", "AccountId", "OwnerId"]
    assert error.message == "Required fields are missing: [LastName, AccountId, OwnerId]"


def test_clearing_a_required_field_is_refused(box: Sandbox) -> None:
    case = one(box, "SELECT Id FROM Case ORDER BY Id LIMIT 1")
    error = refused(lambda: update_record(box, "Case", case["Id"], {"OwnerId": None}))
    assert (error.error_code, error.fields) == ("REQUIRED_FIELD_MISSING", ["OwnerId"])


def test_restricted_picklist(box: Sandbox) -> None:
    case = one(box, "SELECT Id FROM Case ORDER BY Id LIMIT 1")
    error = refused(lambda: update_record(box, "Case", case["Id"], {"Status": "Pending"}))
    assert error.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error.message == "Status: bad value for restricted picklist field: Pending"
    assert error.fields == ["Status"]


def test_reference_to_the_wrong_object_is_a_field_integrity_exception(box: Sandbox) -> None:
    case = one(box, "SELECT Id, AccountId FROM Case ORDER BY Id LIMIT 1")
    error = refused(lambda: update_record(box, "Case", case["Id"], {"OwnerId": case["AccountId"]}))
    assert error.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert error.message == f"Owner ID: id value of incorrect type: {case['AccountId']}"
    assert error.fields == ["OwnerId"]


def test_malformed_and_unknown_references(box: Sandbox) -> None:
    case = one(box, "SELECT Id FROM Case ORDER BY Id LIMIT 1")
    error = refused(lambda: update_record(box, "Case", case["Id"], {"OwnerId": "not-an-id"}))
    assert (error.error_code, error.fields) == ("MALFORMED_ID", ["OwnerId"])
    nobody = make_id("User", 999_999)
    error = refused(lambda: update_record(box, "Case", case["Id"], {"OwnerId": nobody}))
    assert (error.error_code, error.fields) == ("INVALID_CROSS_REFERENCE_KEY", ["OwnerId"])


def test_deleted_records_are_entity_is_deleted(box: Sandbox) -> None:
    email = one(box, "SELECT Id, ParentId FROM EmailMessage ORDER BY Id LIMIT 1")
    delete_record(box, "EmailMessage", email["Id"])
    for action in (
        lambda: update_record(box, "EmailMessage", email["Id"], {"Subject": "x"}),
        lambda: delete_record(box, "EmailMessage", email["Id"]),
    ):
        error = refused(action)
        assert (error.error_code, error.message, error.status) == ("ENTITY_IS_DELETED", "entity is deleted", 404)
    # a reference to a deleted record
    issue = create_record(box, "Issue__c", {"Name": "Loose seam"})
    delete_record(box, "Issue__c", issue)
    error = refused(lambda: create_record(box, "Case", new_case(box, IssueId__c=issue)))
    assert (error.error_code, error.fields) == ("ENTITY_IS_DELETED", ["IssueId__c"])


def test_unknown_records_objects_and_fields(box: Sandbox) -> None:
    assert refused(lambda: update_record(box, "Case", make_id("Case", 888_888), {"Subject": "x"})).status == 404
    assert refused(lambda: create_record(box, "Opportunity", {"Name": "x"})).error_code == "NOT_FOUND"
    error = refused(lambda: create_record(box, "Issue__c", {"Name": "x", "Colour__c": "red"}))
    assert (error.error_code, error.fields) == ("INVALID_FIELD", ["Colour__c"])
    assert error.message == "No such column 'Colour__c' on sobject of type Issue__c"


def test_system_fields_cannot_be_written(box: Sandbox) -> None:
    case = one(box, "SELECT Id FROM Case ORDER BY Id LIMIT 1")
    error = refused(lambda: update_record(box, "Case", case["Id"], {"CreatedDate": "2024-01-01T00:00:00Z"}))
    assert (error.error_code, error.fields) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["CreatedDate"])
    error = refused(lambda: create_record(box, "Case", new_case(box, CaseNumber="1")))
    assert error.fields == ["CaseNumber"]
    contact = one(box, "SELECT Id FROM Contact ORDER BY Id LIMIT 1")
    assert refused(lambda: update_record(box, "Contact", contact["Id"], {"Name": "A B"})).fields == ["Name"]


def test_values_of_the_wrong_type_and_length(box: Sandbox) -> None:
    item = one(box, "SELECT Id FROM OrderItem ORDER BY Id LIMIT 1")
    error = refused(lambda: update_record(box, "OrderItem", item["Id"], {"Quantity": "three"}))
    assert (error.error_code, error.fields) == ("JSON_PARSER_ERROR", ["Quantity"])
    error = refused(lambda: create_record(box, "Issue__c", {"Name": "x" * 81}))
    assert (error.error_code, error.fields) == ("STRING_TOO_LONG", ["Name"])
    assert error.message.endswith("(max length=80)")
    error = refused(lambda: update_record(box, "Case", one(box, "SELECT Id FROM Case LIMIT 1")["Id"], {"Subject": 5}))
    assert error.error_code == "JSON_PARSER_ERROR"


def test_a_parent_still_used_cannot_be_deleted(box: Sandbox) -> None:
    contact = one(box, "SELECT Id, Name FROM Contact WHERE Id IN (SELECT ContactId FROM Case) ORDER BY Id LIMIT 1")
    error = refused(lambda: delete_record(box, "Contact", contact["Id"]))
    assert error.error_code == "DELETE_FAILED"
    assert contact["Name"] in error.message
    assert box.diff() == []  # nothing half-done


def test_deleting_a_case_takes_its_history_and_emails(box: Sandbox) -> None:
    case = one(box, "SELECT Id FROM Case WHERE Id NOT IN (SELECT CaseId FROM LiveChatTranscript) ORDER BY Id LIMIT 1")
    history = run_soql(box.conn, f"SELECT COUNT() FROM CaseHistory__c WHERE CaseId__c = '{case['Id']}'")["totalSize"]
    emails = run_soql(box.conn, f"SELECT COUNT() FROM EmailMessage WHERE ParentId = '{case['Id']}'")["totalSize"]
    delete_record(box, "Case", case["Id"])
    deleted = [c for c in box.diff() if c.kind == "deleted"]
    assert len(deleted) == 1 + history + emails


def test_create_sets_system_fields_and_history(box: Sandbox) -> None:
    highest = one(box, "SELECT CaseNumber FROM Case ORDER BY CaseNumber DESC LIMIT 1")["CaseNumber"]
    case_id = create_record(box, "Case", new_case(box, Status="Closed"), now=lambda: NOW)
    case = one(box, f"SELECT CaseNumber, Status, CreatedDate, ClosedDate, OwnerId FROM Case WHERE Id = '{case_id}'")
    assert case["CaseNumber"] == f"{int(highest) + 1:08d}"
    assert case["CreatedDate"] == case["ClosedDate"] == "2026-03-02T10:30:00.000+0000"
    rows = run_soql(
        box.conn, f"SELECT Field__c, OldValue__c, NewValue__c FROM CaseHistory__c WHERE CaseId__c = '{case_id}'"
    )["records"]
    assert sorted((r["Field__c"], r["OldValue__c"], r["NewValue__c"]) for r in rows) == [
        ("Case Closed", None, None),
        ("Case Creation", None, None),
        ("Owner Assignment", None, case["OwnerId"]),
    ]
    contact = create_record(box, "Contact", {**_contact(box), "FirstName": "Ada", "LastName": "Byron"})
    assert one(box, f"SELECT Name FROM Contact WHERE Id = '{contact}'")["Name"] == "Ada Byron"


def _contact(box: Sandbox) -> dict:
    row = one(box, "SELECT AccountId, OwnerId FROM Contact ORDER BY Id LIMIT 1")
    return {"AccountId": row["AccountId"], "OwnerId": row["OwnerId"]}


def test_status_changes_maintain_closed_date_and_history(box: Sandbox) -> None:
    case = one(box, "SELECT Id, OwnerId FROM Case WHERE Status = 'New' ORDER BY Id LIMIT 1")
    other = one(box, f"SELECT Id FROM User WHERE Id != '{case['OwnerId']}' ORDER BY Id LIMIT 1")
    update_record(box, "Case", case["Id"], {"Status": "Closed", "OwnerId": other["Id"]}, now=lambda: NOW)
    after = one(box, f"SELECT ClosedDate FROM Case WHERE Id = '{case['Id']}'")
    assert after["ClosedDate"] == "2026-03-02T10:30:00.000+0000"
    created = {(c.fields["Field__c"], c.fields.get("OldValue__c")) for c in box.diff() if c.kind == "created"}
    assert created == {("Case Closed", None), ("Owner Assignment", case["OwnerId"])}
    update_record(box, "Case", case["Id"], {"Status": "Working"})
    assert one(box, f"SELECT ClosedDate FROM Case WHERE Id = '{case['Id']}'")["ClosedDate"] is None


def test_upsert_by_a_unique_field(box: Sandbox) -> None:
    case = one(box, "SELECT Id, CaseNumber FROM Case WHERE Priority = 'Low' ORDER BY Id LIMIT 1")
    record_id, created = upsert_record(box, "Case", "CaseNumber", case["CaseNumber"], {"Priority": "High"})
    assert (record_id, created) == (case["Id"], False)
    issue_id, created = upsert_record(box, "Issue__c", "Name", "Sole peeling (new)", {})
    assert created
    assert one(box, f"SELECT Name FROM Issue__c WHERE Id = '{issue_id}'")["Name"] == "Sole peeling (new)"
    error = refused(lambda: upsert_record(box, "Case", "Subject", "x", {}))
    assert error.status == 404
