"""The Parameterized Search resource: GET and POST give what the equivalent SOSL gives on /search."""

from __future__ import annotations

import pytest


def _headers(client) -> dict[str, str]:
    answer = client.post(
        "/services/oauth2/token",
        data={"grant_type": "password", "username": "rita", "password": "rita-research-pw"},
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _search(client, headers, sosl: str) -> dict:
    answer = client.get("/services/data/v60.0/search", params={"q": sosl}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_get_with_objects_fields_and_limits(client):
    headers = _headers(client)
    params = [
        ("q", "warranty"),
        ("sobject", "Knowledge__kav"),
        ("sobject", "Case"),
        ("Knowledge__kav.fields", "Id,Title"),
        ("Knowledge__kav.limit", "3"),
        ("fields", "Id"),
        ("in", "ALL"),
    ]
    answer = client.get("/services/data/v60.0/parameterizedSearch", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    sosl = "FIND {warranty} IN ALL FIELDS RETURNING Knowledge__kav(Id, Title LIMIT 3), Case(Id)"
    assert answer.json() == _search(client, headers, sosl)
    assert answer.json()["searchRecords"], "the org's articles mention warranties"


def test_post_body_with_where_order_highlight_and_metadata(client):
    headers = _headers(client)
    body = {
        "q": "warranty",
        "in": "ALL",
        "sobjects": [
            {"name": "Knowledge__kav", "fields": ["Title"], "where": "PublishStatus = 'Online'", "orderBy": "Title"}
        ],
        "highlights": True,
        "metadata": "LABELS",
        "overallLimit": 5,
    }
    answer = client.post("/services/data/v61.0/parameterizedSearch", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    sosl = (
        "FIND {warranty} IN ALL FIELDS RETURNING Knowledge__kav(Title WHERE PublishStatus = 'Online' ORDER BY Title) "
        "WITH HIGHLIGHT WITH METADATA = 'LABELS' LIMIT 5"
    )
    want = client.get("/services/data/v61.0/search", params={"q": sosl}, headers=headers).json()
    assert answer.json() == want
    assert want["searchResultsMetadata"]["entityMetadata"][0]["entityName"] == "Knowledge__kav"
    titles = [r["Title"] for r in want["searchRecords"]]
    assert titles == sorted(titles, key=str.lower) and len(titles) <= 5


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MALFORMED_SEARCH"),
        ({"q": "warranty", "sobjects": [{"name": "Case(Id), Account"}]}, "INVALID_TYPE"),
        ({"q": "warranty", "sobjects": [{"name": "Case", "fields": ["Id) , Account(Name"]}]}, "INVALID_FIELD"),
        ({"q": "warranty", "sobjects": [{"name": "Case", "where": "Status = 'New'), Account(Id"}]}, "MALFORMED_SEARCH"),
        ({"q": "warranty", "sobjects": [{"name": "Foo__c"}]}, "INVALID_TYPE"),
        ({"q": "warranty", "in": "BODY"}, "MALFORMED_SEARCH"),
        ({"q": "warranty", "overallLimit": "many"}, "MALFORMED_SEARCH"),
        ({"q": "a"}, "MALFORMED_SEARCH"),
    ],
)
def test_bad_parameters_are_salesforce_errors(client, body, code):
    answer = client.post("/services/data/v60.0/parameterizedSearch", json=body, headers=_headers(client))
    assert answer.status_code == 400, answer.text
    assert answer.json()[0]["errorCode"] == code


def test_resource_is_listed(client):
    answer = client.get("/services/data/v60.0/", headers=_headers(client))
    assert answer.json()["parameterizedSearch"] == "/services/data/v60.0/parameterizedSearch"
