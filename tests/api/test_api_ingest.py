"""Bulk API 2.0 ingest endpoints: job lifecycle, results files, and Salesforce's errors.

The app runs in process over an empty org (``org init``) with ``--writable=shared``; what a
job wrote is read back with hand-written SQL on the org's SQLite file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core.api.app import create_app
from crm_core.api.context import ApiSettings
from crm_core.api.ingest_jobs import run_job
from crm_core.api.sandboxes import WriteMode
from crm_core.org.generator import create_empty_org
from crm_core.sandbox import open_shared
from tests.api.conftest import PASSWORDS, app_store_with_users

V = "/services/data/v60.0"
JOBS = f"{V}/jobs/ingest"


@pytest.fixture(scope="module")
def org_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ingest") / "org.db"
    create_empty_org(f"sqlite:///{path}")
    return path


def _app(org_path: Path, folder: Path, mode: WriteMode) -> TestClient:
    app_url = f"sqlite:///{folder / f'app_{mode.value}.db'}"
    app_store_with_users(app_url, "rita", "ada")
    app = create_app(ApiSettings(org_db=f"sqlite:///{org_path}", app_db=app_url, writable=mode))
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(org_path, tmp_path_factory) -> Iterator[TestClient]:
    with _app(org_path, tmp_path_factory.mktemp("ingest_app"), WriteMode.SHARED) as test_client:
        yield test_client
    test_client.app.state.api.writes.close()


def _auth(client: TestClient, username: str = "rita") -> dict[str, str]:
    answer = client.post(
        "/services/oauth2/token",
        data={"grant_type": "password", "username": username, "password": PASSWORDS[username]},
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _sql(org_path: Path, query: str, *params) -> list[tuple]:
    with sqlite3.connect(f"file:{org_path}?mode=ro", uri=True) as conn:
        return conn.execute(query, params).fetchall()


def _run(client: TestClient, auth: dict, job: dict, data: str) -> dict:
    """Create, upload, close; the job's info once processed (TestClient runs background tasks)."""
    created = client.post(JOBS, json=job, headers=auth)
    assert created.status_code == 200, created.text
    job_id = created.json()["id"]
    upload = client.put(f"{JOBS}/{job_id}/batches", content=data.encode(), headers={**auth, "Content-Type": "text/csv"})
    assert upload.status_code == 201, upload.text
    closed = client.patch(f"{JOBS}/{job_id}", json={"state": "UploadComplete"}, headers=auth)
    assert closed.status_code == 200 and closed.json()["state"] == "UploadComplete"
    return client.get(f"{JOBS}/{job_id}", headers=auth).json()


def _results(client: TestClient, auth: dict, job_id: str, kind: str) -> list[list[str]]:
    answer = client.get(f"{JOBS}/{job_id}/{kind}/", headers=auth)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text)))


def test_insert_job_writes_rows_and_reports_each(client, org_path) -> None:
    auth = _auth(client)
    data = 'Name,Description__c\nStrap torn,"covers, with commas"\n,no name\nZip stuck,""\n'
    info = _run(client, auth, {"object": "Issue__c", "operation": "insert"}, data)
    assert info["state"] == "JobComplete" and info["jobType"] == "V2Ingest"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    success = _results(client, auth, info["id"], "successfulResults")
    assert success[0] == ["sf__Id", "sf__Created", "Name", "Description__c"]
    assert [row[1:] for row in success[1:]] == [
        ["true", "Strap torn", "covers, with commas"],
        ["true", "Zip stuck", ""],
    ]
    stored = dict(_sql(org_path, "SELECT Id, Description__c FROM Issue__c WHERE Name IN ('Strap torn', 'Zip stuck')"))
    assert stored == {success[1][0]: "covers, with commas", success[2][0]: None}
    failed = _results(client, auth, info["id"], "failedResults")
    assert failed == [
        ["sf__Id", "sf__Error", "Name", "Description__c"],
        ["", "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --", "", "no name"],
    ]
    assert _results(client, auth, info["id"], "unprocessedrecords") == [["Name", "Description__c"]]


def test_update_upsert_and_delete_jobs(client, org_path) -> None:
    auth = _auth(client)
    first = _run(client, auth, {"object": "Issue__c", "operation": "insert"}, "Name,Description__c\nSole split,old\n")
    record_id = _results(client, auth, first["id"], "successfulResults")[1][0]
    update = _run(client, auth, {"object": "Issue__c", "operation": "update"}, f"Id,Description__c\n{record_id},#N/A\n")
    assert (update["state"], update["numberRecordsFailed"]) == ("JobComplete", 0)
    assert _sql(org_path, "SELECT Description__c FROM Issue__c WHERE Id = ?", record_id) == [(None,)]
    upsert = _run(
        client,
        auth,
        {"object": "Issue__c", "operation": "upsert", "externalIdFieldName": "name"},
        "Name,Description__c\nSole split,again\nHeel worn,new\n",
    )
    assert upsert["externalIdFieldName"] == "Name"
    rows = _results(client, auth, upsert["id"], "successfulResults")[1:]
    assert [(row[1], row[2]) for row in rows] == [("false", "Sole split"), ("true", "Heel worn")]
    assert rows[0][0] == record_id
    delete = _run(client, auth, {"object": "Issue__c", "operation": "delete"}, f"Id\n{record_id}\n{record_id}\n")
    assert (delete["numberRecordsProcessed"], delete["numberRecordsFailed"]) == (2, 1)
    assert _results(client, auth, delete["id"], "failedResults")[1][1].startswith("NOT_FOUND:")
    assert _sql(org_path, "SELECT count(*) FROM Issue__c WHERE Id = ?", record_id) == [(0,)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Name,Colour__c\nBelt,red\n", "InvalidBatch : Field name not found : Colour__c"),
        ("Name,name\nBelt,Belt\n", "InvalidBatch : Duplicate field name: name"),
        ("Name\nBelt,extra\n", "InvalidBatch : Record 1 (line 2) has 2 values; the header has 1 columns"),
        ('Name\n"Belt\n', "InvalidBatch : Failed to parse CSV"),
    ],
)
def test_a_bad_csv_fails_the_job_and_writes_nothing(client, org_path, data, message) -> None:
    auth = _auth(client)
    before = _sql(org_path, "SELECT count(*) FROM Issue__c")
    info = _run(client, auth, {"object": "Issue__c", "operation": "insert"}, data)
    assert info["state"] == "Failed" and info["errorMessage"].startswith(message)
    assert _sql(org_path, "SELECT count(*) FROM Issue__c") == before
    assert client.get(f"{JOBS}/{info['id']}/successfulResults/", headers=auth).text == ""
    assert len(_results(client, auth, info["id"], "unprocessedrecords")) >= 1


def _error(answer, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body[0]["errorCode"] == code
    return body[0]["message"]


def test_job_settings_are_checked_on_create(client) -> None:
    auth = _auth(client)
    assert "Invalid operation" in _error(client.post(JOBS, json={"object": "Account"}, headers=auth), 400, "INVALIDJOB")
    unknown = client.post(JOBS, json={"object": "Lead", "operation": "insert"}, headers=auth)
    assert _error(unknown, 400, "INVALIDJOB") == "Unable to find object: Lead"
    delimiter = client.post(
        JOBS, json={"object": "Account", "operation": "insert", "columnDelimiter": "SPACE"}, headers=auth
    )
    assert "columnDelimiter" in _error(delimiter, 400, "INVALIDJOB")
    no_key = client.post(JOBS, json={"object": "Account", "operation": "upsert"}, headers=auth)
    assert "externalIdFieldName" in _error(no_key, 400, "INVALIDJOB")
    bad_json = client.post(JOBS, content=b"{nope", headers=auth)
    _error(bad_json, 400, "JSON_PARSER_ERROR")
    assert client.post(JOBS, json={"object": "Account", "operation": "insert"}).status_code == 401


def test_job_states_are_enforced(client) -> None:
    auth = _auth(client)
    job_id = client.post(JOBS, json={"object": "Issue__c", "operation": "insert"}, headers=auth).json()["id"]
    assert job_id.startswith("750") and len(job_id) == 18
    early = client.get(f"{JOBS}/{job_id}/successfulResults/", headers=auth)
    _error(early, 400, "INVALIDJOBSTATE")
    csv_headers = {**auth, "Content-Type": "text/csv"}
    _error(client.put(f"{JOBS}/{job_id}/batches", content=b"", headers=csv_headers), 400, "ClientInputError")
    assert client.put(f"{JOBS}/{job_id}/batches", content=b"Name\nA\n", headers=csv_headers).status_code == 201
    _error(client.put(f"{JOBS}/{job_id}/batches", content=b"Name\nB\n", headers=csv_headers), 400, "BULK_API_ERROR")
    _error(client.patch(f"{JOBS}/{job_id}", json={"state": "Closed"}, headers=auth), 400, "INVALIDJOBSTATE")
    _error(client.delete(f"{JOBS}/{job_id}", headers=auth), 400, "INVALIDJOBSTATE")  # still Open
    # another user neither sees nor touches it
    other = _auth(client, "ada")
    _error(client.get(f"{JOBS}/{job_id}", headers=other), 404, "NOT_FOUND")
    assert job_id not in {job["id"] for job in client.get(JOBS, headers=other).json()["records"]}
    assert job_id in {job["id"] for job in client.get(JOBS, headers=auth).json()["records"]}
    aborted = client.patch(f"{JOBS}/{job_id}", json={"state": "Aborted"}, headers=auth)
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert _results(client, auth, job_id, "unprocessedrecords") == [["Name"], ["A"]]
    _error(client.patch(f"{JOBS}/{job_id}", json={"state": "UploadComplete"}, headers=auth), 400, "INVALIDJOBSTATE")
    _error(client.patch(f"{JOBS}/{job_id}", json={"state": "Aborted"}, headers=auth), 400, "INVALIDJOBSTATE")
    csv_answer = client.put(f"{JOBS}/{job_id}/batches", content=b"Name\nC\n", headers=csv_headers)
    _error(csv_answer, 400, "INVALIDJOBSTATE")
    assert client.delete(f"{JOBS}/{job_id}", headers=auth).status_code == 204
    _error(client.get(f"{JOBS}/{job_id}", headers=auth), 404, "NOT_FOUND")


def test_a_job_writes_into_the_tokens_sandbox(org_path, tmp_path) -> None:
    with _app(org_path, tmp_path, WriteMode.SANDBOX) as sandboxed:
        mine, theirs = _auth(sandboxed), _auth(sandboxed)
        before = _sql(org_path, "SELECT count(*) FROM Issue__c")
        info = _run(sandboxed, mine, {"object": "Issue__c", "operation": "insert"}, "Name\nLace frayed\n")
        assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 0)
        soql = {"q": "SELECT Name FROM Issue__c WHERE Name = 'Lace frayed'"}
        assert sandboxed.get(f"{V}/query", params=soql, headers=mine).json()["totalSize"] == 1
        assert sandboxed.get(f"{V}/query", params=soql, headers=theirs).json()["totalSize"] == 0
        assert _sql(org_path, "SELECT count(*) FROM Issue__c") == before
        sandboxed.app.state.api.writes.close()


def test_a_read_only_server_refuses_jobs(org_path, tmp_path) -> None:
    with _app(org_path, tmp_path, WriteMode.READ_ONLY) as read_only:
        answer = read_only.post(JOBS, json={"object": "Account", "operation": "insert"}, headers=_auth(read_only))
        _error(answer, 403, "INSUFFICIENT_ACCESS_OR_READONLY")


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(',"\n;' + string.digits))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_TEXT.filter(lambda t: t.strip() and t != "#N/A").map(lambda t: t[:80]), min_size=1, max_size=5))
def test_any_text_round_trips_through_the_csv(org_path, names: list[str]) -> None:
    """Whatever the text (quotes, delimiters, line breaks, any script), a row stores and echoes it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Name"])
    writer.writerows([name] for name in names)
    store = open_shared(f"sqlite:///{org_path}")
    try:
        done = run_job(store, "Issue__c", "insert", None, out.getvalue(), line_ending="\r\n")
    finally:
        store.close()
        store.engine.dispose()
    assert done.failed_count == 0
    rows = list(csv.reader(io.StringIO(done.successful, newline="")))[1:]
    assert [row[2] for row in rows] == names
    stored = dict(
        _sql(
            org_path, f"SELECT Id, Name FROM Issue__c WHERE Id IN ({','.join('?' * len(rows))})", *[r[0] for r in rows]
        )
    )  # noqa: S608
    assert [stored[row[0]] for row in rows] == names


@pytest.mark.postgres
def test_jobs_on_postgresql(tmp_path) -> None:
    """On a PostgreSQL org: rows written, references checked, a refused row leaves the others."""
    from sqlalchemy import create_engine, text

    from crm_core.org.ids import make_id
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database("crm_ingest")
    try:
        create_empty_org(url)
        app_url = f"sqlite:///{tmp_path / 'app.db'}"
        app_store_with_users(app_url, "rita")
        app = create_app(ApiSettings(org_db=url, app_db=app_url, writable=WriteMode.SHARED))
        with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
            auth = _auth(client)
            accounts = _run(client, auth, {"object": "Account", "operation": "insert"}, "LastName\nDoe\nRoe\n")
            assert (accounts["state"], accounts["numberRecordsFailed"]) == ("JobComplete", 0)
            account_id = _results(client, auth, accounts["id"], "successfulResults")[1][0]
            data = f"LastName,AccountId,OwnerId\nKim,{account_id},\nLee,{make_id('Account', 999_999)},\n"
            contacts = _run(client, auth, {"object": "Contact", "operation": "insert"}, data)
            assert (contacts["numberRecordsProcessed"], contacts["numberRecordsFailed"]) == (2, 2)
            errors = [row[1].split(":")[0] for row in _results(client, auth, contacts["id"], "failedResults")[1:]]
            assert sorted(errors) == ["INVALID_CROSS_REFERENCE_KEY", "REQUIRED_FIELD_MISSING"]
            app.state.api.writes.close()
        engine = create_engine(url)
        with engine.connect() as conn:
            names = sorted(conn.execute(text('SELECT "Name" FROM "Account"')).scalars())
            contacts_stored = conn.execute(text('SELECT count(*) FROM "Contact"')).scalar_one()
        engine.dispose()
        assert (names, contacts_stored) == (["Doe", "Roe"], 0)
    finally:
        drop_pg_database(url)


def test_jobs_stamp_last_modified_and_refuse_it_as_a_column(client, org_path) -> None:
    auth = _auth(client)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    first = _run(client, auth, {"object": "Issue__c", "operation": "insert"}, "Name\nTongue frayed\n")
    record_id = _results(client, auth, first["id"], "successfulResults")[1][0]
    [(created, modified)] = _sql(org_path, "SELECT CreatedDate, LastModifiedDate FROM Issue__c WHERE Id = ?", record_id)
    assert modified == created and dt.datetime.fromisoformat(created) >= started
    _run(client, auth, {"object": "Issue__c", "operation": "update"}, f"Id,Description__c\n{record_id},worn\n")
    [(changed,)] = _sql(org_path, "SELECT LastModifiedDate FROM Issue__c WHERE Id = ?", record_id)
    assert changed >= created
    refused = _run(
        client,
        auth,
        {"object": "Issue__c", "operation": "update"},
        f"Id,LastModifiedDate\n{record_id},2020-01-01T00:00:00.000Z\n",
    )
    assert (refused["state"], refused["numberRecordsFailed"]) == ("JobComplete", 1)
    error = _results(client, auth, refused["id"], "failedResults")[1][1]
    assert error == (
        "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: LastModifiedDate. Please check the "
        "security settings of this field and verify that it is read/write for your profile or permission set."
        ":LastModifiedDate --"
    )
    assert _sql(org_path, "SELECT LastModifiedDate FROM Issue__c WHERE Id = ?", record_id) == [(changed,)]
