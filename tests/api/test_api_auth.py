"""OAuth login, bearer tokens, expiry, revocation and rate limiting, over HTTPS."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from simple_salesforce.exceptions import SalesforceExpiredSession

from crm_core.api import tokens
from crm_core.store.engine import open_app_store
from crm_core.store.models import utc_now
from crm_core.users import accounts

SESSION_INVALID = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_login_answers_like_salesforce(api_server):
    answer = api_server.login("rita")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert body["instance_url"] == api_server.base_url and body["token_type"] == "Bearer"
    assert body["access_token"].startswith("00D") and "!" in body["access_token"]
    issued = int(body["issued_at"])
    assert abs(issued / 1000 - dt.datetime.now(dt.UTC).timestamp()) < 3600
    expected = hmac.new(b"shh", (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert body["signature"] == base64.b64encode(expected).decode()
    sf = api_server.salesforce(body["access_token"])
    assert sf.query("SELECT COUNT() FROM Issue__c")["totalSize"] >= 1


def test_admin_may_log_in_and_expert_may_not(api_server):
    assert api_server.login("ada").status_code == 200
    refused = api_server.login("ed")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert "researcher or admin" in refused.json()["error_description"]


def test_wrong_password_and_grant_type(api_server):
    wrong = api_server.login("rita", "not-her-password")
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    unknown = api_server.login("rita", "")
    assert unknown.status_code == 400
    nobody = api_server.login("no-such-user", "not-her-password")
    assert nobody.status_code == 400 and nobody.json() == wrong.json()  # which of the two was wrong is not told
    other_grant = api_server.session().post(
        f"{api_server.base_url}/services/oauth2/token", data={"grant_type": "client_credentials"}
    )
    assert other_grant.status_code == 400 and other_grant.json()["error"] == "unsupported_grant_type"


def test_failed_logins_are_rate_limited(api_server):
    # The test server allows 3 failures per username within 15 minutes.
    for _ in range(3):
        assert api_server.login("lou", "wrong-password").json()["error_description"] == "authentication failure"
    locked = api_server.login("lou")  # even the right password is refused now
    assert locked.status_code == 400
    assert locked.json() == {"error": "invalid_grant", "error_description": "login rate exceeded"}
    assert 1 <= int(locked.headers["Retry-After"]) <= 900
    assert api_server.login("ada").status_code == 200  # other users are not affected


def test_wrong_missing_and_malformed_tokens_are_refused(api_server, api_token):
    sf = api_server.salesforce(api_token[:-2] + "xx")
    with pytest.raises(SalesforceExpiredSession) as error:
        sf.query("SELECT Id FROM Case LIMIT 1")
    assert error.value.status == 401 and error.value.content == SESSION_INVALID
    session = api_server.session()
    url = f"{api_server.base_url}/services/data/v60.0/query?q=SELECT+Id+FROM+Case+LIMIT+1"
    for headers in ({}, {"Authorization": api_token}, {"Authorization": "Basic abc"}):
        answer = session.get(url, headers=headers)
        assert answer.status_code == 401 and answer.json() == SESSION_INVALID
    assert session.get(url, headers={"Authorization": f"OAuth {api_token}"}).status_code == 200


def test_expired_token_is_refused(api_server):
    sessions = open_app_store(api_server.app_url)
    with sessions() as session:
        rita = accounts.get_user(session, "rita").id
    old, _ = tokens.issue_token(sessions, rita, dt.timedelta(hours=2), now=utc_now() - dt.timedelta(hours=3))
    fresh, _ = tokens.issue_token(sessions, rita, dt.timedelta(hours=2))
    sessions.kw["bind"].dispose()
    with pytest.raises(SalesforceExpiredSession) as error:
        api_server.salesforce(old).query("SELECT Id FROM Case LIMIT 1")
    assert error.value.content == SESSION_INVALID
    assert api_server.salesforce(fresh).query("SELECT Id FROM Case LIMIT 1")["totalSize"] == 1


def test_revoked_token_is_refused(api_server):
    token = api_server.login("rita").json()["access_token"]
    sf = api_server.salesforce(token)
    assert sf.query("SELECT Id FROM Case LIMIT 1")["totalSize"] == 1
    revoked = api_server.session().post(f"{api_server.base_url}/services/oauth2/revoke", data={"token": token})
    assert revoked.status_code == 200
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Case LIMIT 1")
    again = api_server.session().post(f"{api_server.base_url}/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400 and again.json()["error"] == "unsupported_token_type"


def test_untrusted_clients_cannot_connect(api_server):
    import requests

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{api_server.base_url}/services/data/", timeout=5)
