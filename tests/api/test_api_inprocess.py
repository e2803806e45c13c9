"""The ASGI app in process (no TLS): identity URL, resources, method and failure answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from crm_core.api.app import create_app
from crm_core.api.context import ApiSettings


def _token(client, username: str, password: str) -> str:
    answer = client.post(
        "/services/oauth2/token", data={"grant_type": "password", "username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_identity_url_is_the_users_own(client):
    rita = _token(client, "rita", "rita-research-pw")
    ada = _token(client, "ada", "ada-admin-pw")
    path = rita["id"].removeprefix("https://testserver")
    mine = client.get(path, headers={"Authorization": f"Bearer {rita['access_token']}"})
    assert mine.status_code == 200
    assert mine.json()["username"] == "rita" and mine.json()["id"] == rita["id"]
    theirs = client.get(path, headers={"Authorization": f"Bearer {ada['access_token']}"})
    assert theirs.status_code == 403


def test_version_resources(client):
    token = _token(client, "rita", "rita-research-pw")["access_token"]
    answer = client.get("/services/data/v61.0/", headers={"Authorization": f"Bearer {token}"})
    assert answer.json()["query"] == "/services/data/v61.0/query"
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_unexpected_failures_are_500_with_an_error_id(client, monkeypatch):
    token = _token(client, "rita", "rita-research-pw")["access_token"]
    batches = client.app.state.api.batches

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(batches, "first", broken)
    answer = client.get(
        "/services/data/v60.0/query",
        params={"q": "SELECT Id FROM Case LIMIT 1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 500
    body = answer.json()
    assert body[0]["errorCode"] == "UNKNOWN_EXCEPTION" and "ErrorId" in body[0]["message"]
    assert "boom" not in answer.text


def test_a_second_replica_serves_the_next_batch(client, api_org_url):
    """Two apps on the same app store: the batch after the first comes from the other replica."""
    ctx = client.app.state.api
    other_app = create_app(ApiSettings(org_db=api_org_url, app_db=ctx.settings.app_db))
    token = _token(client, "rita", "rita-research-pw")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    first = client.get("/services/data/v60.0/query", params={"q": "SELECT Id FROM Case ORDER BY Id"}, headers=headers)
    assert first.status_code == 200 and first.json()["done"] is False
    with TestClient(other_app, base_url="https://testserver") as other:
        rest = other.get(first.json()["nextRecordsUrl"], headers=headers)
    assert rest.status_code == 200, rest.text
    ids = [r["Id"] for r in first.json()["records"] + rest.json()["records"]]
    assert ids == sorted(ids) and len(ids) == first.json()["totalSize"] == len(set(ids))
    assert rest.json()["done"] is True
