"""The REST API through the real simple-salesforce client, over HTTPS, against a server subprocess.

Expected values come from hand-written SQL on the org's SQLite file (not from the engine).
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from crm_core.org.ids import KEY_PREFIXES
from tests.api.conftest import CASES


def _sql(server, query: str, *params) -> list[tuple]:
    path = server.org_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(query, params).fetchall()


def test_versions_need_no_token(api_server):
    answer = api_server.session().get(f"{api_server.base_url}/services/data/")
    assert answer.status_code == 200
    by_version = {v["version"]: v for v in answer.json()}
    assert by_version["59.0"] == {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}
    assert by_version["60.0"]["label"] == "Spring '24"
    assert by_version["61.0"]["label"] == "Summer '24"


def test_query(api_server, sf):
    expected = _sql(api_server, 'SELECT Id, Subject, Status FROM "Case" WHERE Status = ? ORDER BY Id LIMIT 5', "Closed")
    result = sf.query("SELECT Id, Subject, Status FROM Case WHERE Status = 'Closed' ORDER BY Id LIMIT 5")
    assert result["done"] is True and result["totalSize"] == 5
    assert [(r["Id"], r["Subject"], r["Status"]) for r in result["records"]] == expected
    first = result["records"][0]
    # simple-salesforce asks for v59.0; the attribute urls follow the version asked for.
    assert first["attributes"] == {"type": "Case", "url": f"/services/data/v59.0/sobjects/Case/{expected[0][0]}"}


def test_query_all_crosses_the_batch_boundary(api_server, sf):
    expected = {row[0] for row in _sql(api_server, 'SELECT Id FROM "Case"')}
    assert len(expected) == CASES > 2000
    first = sf.query("SELECT Id FROM Case")
    assert first["done"] is False and first["totalSize"] == CASES and len(first["records"]) == 2000
    assert re.fullmatch(r"/services/data/v59\.0/query/01g[0-9A-Za-z]{15}-2000", first["nextRecordsUrl"])
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert rest["done"] is True and len(rest["records"]) == CASES - 2000 and "nextRecordsUrl" not in rest
    everything = sf.query_all("SELECT Id FROM Case")
    assert everything["totalSize"] == CASES
    ids = [r["Id"] for r in everything["records"]]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    with_deleted = sf.query_all("SELECT Id FROM Case", include_deleted=True)
    assert {r["Id"] for r in with_deleted["records"]} == expected


def test_batch_size_header_and_locator_owner(api_server, sf):
    small = sf.query("SELECT Id FROM Case ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(small["records"]) == 500 and small["nextRecordsUrl"].endswith("-500")
    second = sf.query_more(small["nextRecordsUrl"], identifier_is_url=True)
    ordered = [row[0] for row in _sql(api_server, 'SELECT Id FROM "Case" ORDER BY Id')]
    assert [r["Id"] for r in second["records"]] == ordered[500:1000]
    # Another user cannot read someone else's cursor; a made-up locator is refused too.
    other = api_server.salesforce(api_server.login("ada").json()["access_token"])
    made_up = re.sub(r"01g[0-9A-Za-z]{15}", "01gAAAAAAAAAAAAAAA", small["nextRecordsUrl"])
    for url in (small["nextRecordsUrl"], made_up):
        with pytest.raises(SalesforceMalformedRequest) as error:
            other.query_more(url, identifier_is_url=True)
        assert error.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_search(api_server, sf):
    name, account_id = _sql(api_server, "SELECT LastName, Id FROM Account ORDER BY Id LIMIT 1")[0]
    result = sf.search(f"FIND {{{name}}} IN NAME FIELDS RETURNING Account(Id, LastName)")
    records = result["searchRecords"]
    assert account_id in {r["Id"] for r in records}
    assert all(r["attributes"]["type"] == "Account" and r["LastName"].lower() == name.lower() for r in records)


def test_describe(api_server, sf):
    described = sf.Case.describe()
    columns = [row[1] for row in _sql(api_server, 'PRAGMA table_info("Case")')]
    assert [f["name"] for f in described["fields"]] == columns
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Description"]["filterable"] is False and fields["Description"]["sortable"] is False
    assert fields["Subject"]["filterable"] is True
    assert fields["AccountId"]["referenceTo"] == ["Account"] and fields["AccountId"]["relationshipName"] == "Account"
    assert fields["IssueId__c"]["relationshipName"] == "IssueId__r"
    assert described["keyPrefix"] == "500" and described["createable"] is False
    for name in ("Case", "Account", "CaseHistory__c"):
        stamp = {f["name"]: f for f in getattr(sf, name).describe()["fields"]}["LastModifiedDate"]
        assert (stamp["type"], stamp["soapType"], stamp["label"]) == ("datetime", "xsd:dateTime", "Last Modified Date")
        assert (stamp["createable"], stamp["updateable"], stamp["nillable"]) == (False, False, False)
        assert (stamp["filterable"], stamp["sortable"], stamp["groupable"]) == (True, True, False)
    account = sf.Account.describe()
    children = {(c["relationshipName"], c["childSObject"], c["field"]) for c in account["childRelationships"]}
    assert ("Cases", "Case", "AccountId") in children
    everything = sf.describe()
    assert {o["name"] for o in everything["sobjects"]} == set(KEY_PREFIXES)


def test_record_retrieval(api_server, sf):
    case_id, subject, status, created = _sql(
        api_server, 'SELECT Id, Subject, Status, CreatedDate FROM "Case" ORDER BY Id LIMIT 1'
    )[0]
    record = sf.Case.get(case_id)
    assert record["Id"] == case_id and record["Subject"] == subject and record["Status"] == status
    assert record["CreatedDate"].startswith(created[:10]) and record["CreatedDate"].endswith("+0000")
    assert record["attributes"]["type"] == "Case"
    assert sf.Case.get(case_id[:15])["Id"] == case_id
    picked = sf.Case.get(case_id, params={"fields": "subject,Status"})
    assert set(picked) == {"attributes", "Subject", "Status"}
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.Case.get(case_id, params={"fields": "Subject,Nope"})
    assert error.value.content[0]["errorCode"] == "INVALID_FIELD"
    missing = case_id[:6] + ("z" if case_id[6] != "z" else "y") + case_id[7:15]
    for bad in (missing, "not-an-id", _sql(api_server, "SELECT Id FROM Account LIMIT 1")[0][0]):
        with pytest.raises(SalesforceResourceNotFound) as error:
            sf.Case.get(bad)
        assert error.value.content[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT Id FROM Case WHERE Status = 'New' AND Priority = 'High' OR Origin = 'Web'", "MALFORMED_QUERY"),
        ("SELECT Id, Foo FROM Case", "INVALID_FIELD"),
        ("SELECT Id FROM Foo", "INVALID_TYPE"),
        ("SELECT Id FROM Case WHERE Description = 'x'", "INVALID_FIELD"),
    ],
)
def test_bad_queries_raise_malformed_request_with_our_error_code(sf, query, code):
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query(query)
    assert error.value.status == 400
    assert error.value.content[0]["errorCode"] == code
    assert "ERROR at Row:1:Column:" in error.value.content[0]["message"]


def test_empty_query_and_search(sf):
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query("")
    assert error.value.content == [{"message": "A query string has to be specified", "errorCode": "MALFORMED_QUERY"}]
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.search("FIND {oops | } RETURNING Account(Id)")
    assert error.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


def test_writes_are_refused_and_nothing_changes(api_server, sf):
    before = _sql(api_server, 'SELECT COUNT(*), MAX(Subject) FROM "Case"')
    case_id = _sql(api_server, 'SELECT Id FROM "Case" ORDER BY Id LIMIT 1')[0][0]
    subject = _sql(api_server, 'SELECT Subject FROM "Case" WHERE Id = ?', case_id)
    for attempt in (
        lambda: sf.Case.create({"Subject": "hello"}),
        lambda: sf.Case.update(case_id, {"Subject": "changed"}),
        lambda: sf.Case.delete(case_id),
    ):
        with pytest.raises(SalesforceRefusedRequest) as error:
            attempt()
        assert error.value.status == 403
        assert error.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Foo__c.create({"Name": "x"})
    assert _sql(api_server, 'SELECT COUNT(*), MAX(Subject) FROM "Case"') == before
    assert _sql(api_server, 'SELECT Subject FROM "Case" WHERE Id = ?', case_id) == subject


def test_unknown_resources_are_not_found(api_server, sf, api_token):
    with pytest.raises(SalesforceResourceNotFound) as error:
        sf.Foo.describe()
    assert error.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    session = api_server.session()
    headers = {"Authorization": f"Bearer {api_token}"}
    for path in ("/services/data/v12.0/sobjects", "/services/data/v60.0/nothing", "/elsewhere"):
        answer = session.get(api_server.base_url + path, headers=headers)
        assert answer.status_code == 404 and answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_limits(sf):
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert 0 <= limits["DailyApiRequests"]["Remaining"] < 15000
