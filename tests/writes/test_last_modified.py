"""LastModifiedDate: stamped by every write, refused from callers, queryable like Salesforce's."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_core.query import run_soql
from crm_core.sandbox import Sandbox
from crm_core.scoring.state import diff_from_changes
from crm_core.writes import WriteError, create_record, update_record, upsert_record

CREATED = dt.datetime(2026, 5, 1, 8, 0, 0)
CHANGED = dt.datetime(2026, 5, 3, 17, 45, 12, 250000)
TODAY = dt.date(2026, 5, 20)


def _one(box: Sandbox, soql: str) -> dict:
    return run_soql(box.conn, soql, today=TODAY)["records"][0]


def _rest(moment: dt.datetime) -> str:
    """A datetime as the REST API writes it, typed out from Salesforce's format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def test_create_and_update_stamp_the_record(sandbox: Sandbox) -> None:
    contact = _one(sandbox, "SELECT Id, AccountId, OwnerId FROM Contact ORDER BY Id LIMIT 1")
    new_id = create_record(
        sandbox,
        "Case",
        {"Subject": "Strap broke", "AccountId": contact["AccountId"], "ContactId": contact["Id"]}
        | {"OwnerId": contact["OwnerId"]},
        now=lambda: CREATED,
    )
    case = _one(sandbox, f"SELECT CreatedDate, LastModifiedDate FROM Case WHERE Id = '{new_id}'")
    assert (case["CreatedDate"], case["LastModifiedDate"]) == (_rest(CREATED), _rest(CREATED))
    update_record(sandbox, "Case", new_id, {"Priority": "High"}, now=lambda: CHANGED)
    case = _one(sandbox, f"SELECT CreatedDate, LastModifiedDate FROM Case WHERE Id = '{new_id}'")
    assert (case["CreatedDate"], case["LastModifiedDate"]) == (_rest(CREATED), "2026-05-03T17:45:12.250+0000")
    # the history rows the write adds carry the write's time too
    history = f"SELECT CreatedDate, LastModifiedDate FROM CaseHistory__c WHERE CaseId__c = '{new_id}'"
    rows = run_soql(sandbox.conn, history)
    assert rows["records"] and all(r["LastModifiedDate"] == r["CreatedDate"] for r in rows["records"])


def test_an_update_changing_no_value_still_stamps(sandbox: Sandbox) -> None:
    item = _one(sandbox, "SELECT Id, Quantity, LastModifiedDate FROM OrderItem ORDER BY Id LIMIT 1")
    assert item["LastModifiedDate"] < "2026"  # generated inside the org's span
    update_record(sandbox, "OrderItem", item["Id"], {"Quantity": item["Quantity"]}, now=lambda: CHANGED)
    after = _one(sandbox, f"SELECT Quantity, LastModifiedDate FROM OrderItem WHERE Id = '{item['Id']}'")
    assert (after["Quantity"], after["LastModifiedDate"]) == (item["Quantity"], _rest(CHANGED))
    assert diff_from_changes(sandbox.diff()).is_empty()  # no value changed: nothing for the scorer


def test_upsert_stamps_the_record_it_updates(sandbox: Sandbox) -> None:
    case = _one(sandbox, "SELECT Id, CaseNumber FROM Case ORDER BY Id LIMIT 1")
    upsert_record(sandbox, "Case", "CaseNumber", case["CaseNumber"], {"Priority": "Low"}, now=lambda: CHANGED)
    assert _one(sandbox, f"SELECT LastModifiedDate FROM Case WHERE Id = '{case['Id']}'")["LastModifiedDate"] == (
        _rest(CHANGED)
    )


@pytest.mark.parametrize("spelling", ["LastModifiedDate", "lastmodifieddate"])
def test_a_caller_cannot_set_it(sandbox: Sandbox, spelling: str) -> None:
    case = _one(sandbox, "SELECT Id, LastModifiedDate FROM Case ORDER BY Id LIMIT 1")
    with pytest.raises(WriteError) as refused:
        update_record(sandbox, "Case", case["Id"], {"Subject": "x", spelling: "2020-01-01T00:00:00Z"})
    error = refused.value
    assert (error.error_code, error.fields, error.status) == (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        ["LastModifiedDate"],
        400,
    )
    assert error.message == (
        "Unable to create/update fields: LastModifiedDate. Please check the security settings of this field "
        "and verify that it is read/write for your profile or permission set."
    )
    with pytest.raises(WriteError) as refused:
        create_record(sandbox, "Issue__c", {"Name": "Frayed laces", spelling: "2020-01-01T00:00:00Z"})
    assert refused.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert sandbox.diff() == []  # nothing written
    assert (
        _one(sandbox, f"SELECT LastModifiedDate FROM Case WHERE Id = '{case['Id']}'")["LastModifiedDate"]
        == (case["LastModifiedDate"])
    )


def test_soql_filters_and_sorts_on_it(sandbox: Sandbox) -> None:
    recent = "SELECT Id FROM Case WHERE LastModifiedDate = LAST_N_DAYS:30 ORDER BY LastModifiedDate DESC, Id"
    assert run_soql(sandbox.conn, recent, today=TODAY)["records"] == []  # the org's history ends in 2025
    cases = run_soql(sandbox.conn, "SELECT Id FROM Case ORDER BY Id LIMIT 3", today=TODAY)["records"]
    for days_ago, case in zip((40, 2, 9), cases, strict=True):
        moment = dt.datetime.combine(TODAY, dt.time(12)) - dt.timedelta(days=days_ago)
        update_record(sandbox, "Case", case["Id"], {"Priority": "Medium"}, now=lambda moment=moment: moment)
    found = [r["Id"] for r in run_soql(sandbox.conn, recent, today=TODAY)["records"]]
    assert found == [cases[1]["Id"], cases[2]["Id"]]  # newest first; 40 days ago is out
    latest = _one(sandbox, "SELECT Id FROM Case ORDER BY LastModifiedDate DESC NULLS LAST LIMIT 1")
    assert latest["Id"] == cases[1]["Id"]
    counted = run_soql(
        sandbox.conn, "SELECT COUNT() FROM Case WHERE LastModifiedDate > 2026-01-01T00:00:00Z", today=TODAY
    )
    assert counted["totalSize"] == 3
    # as old as the record or newer, in the generated org too
    older = run_soql(sandbox.conn, "SELECT Id, CreatedDate, LastModifiedDate FROM Account LIMIT 50", today=TODAY)
    assert all(r["LastModifiedDate"] >= r["CreatedDate"] for r in older["records"])
