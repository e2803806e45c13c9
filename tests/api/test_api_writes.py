"""REST writes under ``serve --writable``: a sandbox per token, Salesforce's answers and errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from crm_core.api.app import create_app
from crm_core.api.context import ApiSettings
from crm_core.api.launcher import start_server_process
from crm_core.api.sandboxes import WriteMode
from crm_core.db import make_readonly_engine
from crm_core.org.stats import org_stats
from crm_core.query import run_soql
from tests.api.conftest import app_store_with_users

V = "/services/data/v60.0"


@pytest.fixture(scope="module")
def writable(tiny_org_url, tmp_path_factory) -> Iterator[TestClient]:
    app_url = f"sqlite:///{tmp_path_factory.mktemp('api_writes') / 'app.db'}"
    app_store_with_users(app_url, "rita")
    app = create_app(ApiSettings(org_db=tiny_org_url, app_db=app_url, writable=WriteMode.SANDBOX))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.api.writes.close()


def _login(client: TestClient) -> dict[str, str]:
    answer = client.post(
        "/services/oauth2/token", data={"grant_type": "password", "username": "rita", "password": "rita-research-pw"}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _one(client: TestClient, auth: dict, soql: str) -> dict:
    return client.get(f"{V}/query", params={"q": soql}, headers=auth).json()["records"][0]


def test_each_token_writes_into_its_own_sandbox(writable: TestClient, tiny_org_url: str) -> None:
    digest = org_stats(make_readonly_engine(tiny_org_url)).digest
    mine, theirs = _login(writable), _login(writable)
    case = _one(writable, mine, "SELECT Id, Status FROM Case WHERE Status = 'New' ORDER BY Id LIMIT 1")
    answer = writable.patch(f"{V}/sobjects/Case/{case['Id']}", json={"Status": "Escalated"}, headers=mine)
    assert answer.status_code == 204 and answer.content == b""
    assert writable.get(f"{V}/sobjects/Case/{case['Id']}", headers=mine).json()["Status"] == "Escalated"
    assert writable.get(f"{V}/sobjects/Case/{case['Id']}", headers=theirs).json()["Status"] == "New"
    assert org_stats(make_readonly_engine(tiny_org_url)).digest == digest


def test_create_update_delete_and_their_errors(writable: TestClient) -> None:
    auth = _login(writable)
    created = writable.post(f"{V}/sobjects/Issue__c", json={"Name": "Buckle snapped"}, headers=auth)
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("a1M")
    missing = writable.post(f"{V}/sobjects/Issue__c", json={"Description__c": "no name"}, headers=auth)
    assert missing.status_code == 400
    assert missing.json() == [
        {"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}
    ]
    assert writable.delete(f"{V}/sobjects/Issue__c/{body['id']}", headers=auth).status_code == 204
    again = writable.delete(f"{V}/sobjects/Issue__c/{body['id']}", headers=auth)
    assert again.status_code == 404 and again.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    bad_json = writable.post(f"{V}/sobjects/Issue__c", content=b"{not json", headers=auth)
    assert bad_json.status_code == 400 and bad_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_upsert_answers_created_or_updated(writable: TestClient) -> None:
    auth = _login(writable)
    first = writable.patch(f"{V}/sobjects/Issue__c/Name/Lace frayed", json={}, headers=auth)
    assert first.status_code == 201 and first.json()["created"] is True
    second = writable.patch(f"{V}/sobjects/Issue__c/Name/Lace frayed", json={"Description__c": "x"}, headers=auth)
    assert second.status_code == 200 and second.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }


def test_collections_report_per_record_and_honour_all_or_none(writable: TestClient) -> None:
    auth = _login(writable)
    records = [
        {"attributes": {"type": "Issue__c"}, "Name": "Heel cracked"},
        {"attributes": {"type": "Issue__c"}, "Description__c": "nameless"},
    ]
    partial = writable.post(f"{V}/composite/sobjects", json={"allOrNone": False, "records": records}, headers=auth)
    results = partial.json()
    assert results[0]["success"] is True
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    count = "SELECT COUNT() FROM Issue__c WHERE Name = 'Heel cracked'"
    assert writable.get(f"{V}/query", params={"q": count}, headers=auth).json()["totalSize"] == 1
    whole = writable.post(f"{V}/composite/sobjects", json={"allOrNone": True, "records": records}, headers=auth)
    assert whole.json()[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert writable.get(f"{V}/query", params={"q": count}, headers=auth).json()["totalSize"] == 1
    deleted = writable.delete(f"{V}/composite/sobjects", params={"ids": results[0]["id"]}, headers=auth)
    assert deleted.json() == [{"id": results[0]["id"], "success": True, "errors": []}]


def test_composite_passes_references_and_rolls_back_all_or_none(writable: TestClient) -> None:
    auth = _login(writable)
    contact = _one(writable, auth, "SELECT Id, AccountId, OwnerId FROM Contact ORDER BY Id LIMIT 1")
    requests = [
        {"method": "POST", "url": f"{V}/sobjects/Issue__c", "referenceId": "issue", "body": {"Name": "Strap torn"}},
        {
            "method": "POST",
            "url": f"{V}/sobjects/Case",
            "referenceId": "case",
            "body": {
                "Subject": "Strap torn on day one",
                "IssueId__c": "@{issue.id}",
                "AccountId": contact["AccountId"],
                "ContactId": contact["Id"],
                "OwnerId": contact["OwnerId"],
            },
        },
        {"method": "GET", "url": f"{V}/sobjects/Case/@{{case.id}}?fields=CaseNumber,IssueId__c", "referenceId": "read"},
    ]
    answer = writable.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": requests}, headers=auth)
    responses = answer.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 200]
    assert responses[2]["body"]["IssueId__c"] == responses[0]["body"]["id"]
    assert responses[1]["httpHeaders"]["Location"].endswith(responses[1]["body"]["id"])
    requests[1]["body"]["Status"] = "Pending"  # a bad picklist value: everything is rolled back
    requests[0]["body"]["Name"] = "Strap torn twice"
    answer = writable.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": requests}, headers=auth)
    codes = [(r["httpStatusCode"], r["body"][0]["errorCode"]) for r in answer.json()["compositeResponse"]]
    assert codes == [
        (400, "PROCESSING_HALTED"),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        (400, "PROCESSING_HALTED"),
    ]
    count = "SELECT COUNT() FROM Issue__c WHERE Name = 'Strap torn twice'"
    assert writable.get(f"{V}/query", params={"q": count}, headers=auth).json()["totalSize"] == 0


@pytest.mark.slow
def test_simple_salesforce_writes_through_a_writable_server(tiny_org_url, tmp_path) -> None:
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    app_store_with_users(app_url, "rita")
    running = start_server_process(tiny_org_url, app_url, tmp_path, extra_args=("--writable", "--log-level", "warning"))
    try:
        login = running.session().post(
            f"{running.base_url}/services/oauth2/token",
            data={"grant_type": "password", "username": "rita", "password": "rita-research-pw"},
        )
        sf = Salesforce(
            instance_url=running.base_url, session_id=login.json()["access_token"], session=running.session()
        )
        created = sf.Issue__c.create({"Name": "Eyelet torn"})
        assert created["success"] is True
        assert sf.Issue__c.update(created["id"], {"Description__c": "Top eyelet"}) == 204
        assert sf.Issue__c.get(created["id"])["Description__c"] == "Top eyelet"
        assert sf.Issue__c.upsert("Name/Eyelet torn", {"Description__c": "Both eyelets"}) == 200
        with pytest.raises(SalesforceMalformedRequest) as error:
            sf.Case.update(sf.query("SELECT Id FROM Case LIMIT 1")["records"][0]["Id"], {"Status": "Pending"})
        assert error.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        assert sf.Issue__c.delete(created["id"]) == 204
        with pytest.raises(SalesforceResourceNotFound):
            sf.Issue__c.get(created["id"])
    finally:
        running.stop()


def test_a_revoked_token_loses_its_sandbox(writable: TestClient) -> None:
    auth = _login(writable)
    token = auth["Authorization"].removeprefix("Bearer ")
    writable.post(f"{V}/sobjects/Issue__c", json={"Name": "Toe cap dented"}, headers=auth)
    writes = writable.app.state.api.writes
    assert len(writes._pool) >= 1
    before = len(writes._pool)
    assert writable.post("/services/oauth2/revoke", data={"token": token}).status_code == 200
    assert len(writes._pool) == before - 1


def test_shared_mode_writes_into_the_org(tiny_org_url: str, tmp_path) -> None:
    import shutil

    from crm_core.db import sqlite_path

    org = tmp_path / "org.db"
    shutil.copy(sqlite_path(tiny_org_url), org)
    org_url = f"sqlite:///{org}"
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    app_store_with_users(app_url, "rita")
    app = create_app(ApiSettings(org_db=org_url, app_db=app_url, writable=WriteMode.SHARED))
    issues = "SELECT COUNT() FROM Issue__c WHERE Name = 'Shared seam'"

    def in_org() -> int:  # read straight from the org file, not through the API
        engine = make_readonly_engine(org_url)
        try:
            with engine.connect() as conn:
                return run_soql(conn, issues)["totalSize"]
        finally:
            engine.dispose()

    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        mine, theirs = _login(client), _login(client)
        created = client.post(f"{V}/sobjects/Issue__c", json={"Name": "Shared seam"}, headers=mine).json()
        assert in_org() == 1
        assert client.get(f"{V}/sobjects/Issue__c/{created['id']}", headers=theirs).json()["Name"] == "Shared seam"
        assert client.delete(f"{V}/sobjects/Issue__c/{created['id']}", headers=mine).status_code == 204
        assert in_org() == 0
        assert client.get(f"{V}/sobjects/Issue__c/{created['id']}", headers=theirs).status_code == 404
    app.state.api.writes.close()


def test_composite_checks_field_names_of_reads(writable: TestClient) -> None:
    auth = _login(writable)
    case = _one(writable, auth, "SELECT Id FROM Case ORDER BY Id LIMIT 1")
    bad = {"method": "GET", "url": f"{V}/sobjects/Case/{case['Id']}?fields=Id FROM User", "referenceId": "r"}
    answer = writable.post(f"{V}/composite", json={"compositeRequest": [bad]}, headers=auth).json()
    assert answer["compositeResponse"][0]["httpStatusCode"] == 400
    assert answer["compositeResponse"][0]["body"][0]["errorCode"] == "INVALID_FIELD"


def test_writes_stamp_last_modified_and_refuse_to_set_it(writable: TestClient) -> None:
    auth = _login(writable)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    created = writable.post(f"{V}/sobjects/Issue__c", json={"Name": "Insole slipping"}, headers=auth).json()
    url = f"{V}/sobjects/Issue__c/{created['id']}"
    record = writable.get(url, headers=auth).json()
    assert record["LastModifiedDate"] == record["CreatedDate"]
    assert dt.datetime.strptime(record["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z") >= started
    patched = writable.patch(url, json={"LastModifiedDate": "2020-01-01T00:00:00.000+0000"}, headers=auth)
    assert patched.status_code == 400
    assert patched.json() == [
        {
            "message": "Unable to create/update fields: LastModifiedDate. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["LastModifiedDate"],
        }
    ]
    assert writable.patch(url, json={"Description__c": "left shoe"}, headers=auth).status_code == 204
    changed = writable.get(url, headers=auth).json()
    assert changed["LastModifiedDate"] >= record["LastModifiedDate"] and changed["CreatedDate"] == record["CreatedDate"]
    records = [{"attributes": {"type": "Issue__c"}, "Name": "Laces short", "lastModifiedDate": "2020-01-01"}]
    answer = writable.post(f"{V}/composite/sobjects", json={"allOrNone": False, "records": records}, headers=auth)
    assert answer.json()[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
