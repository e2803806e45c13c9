"""A running API server (subprocess, HTTPS on 127.0.0.1) over a generated org, for the API tests.

The org has 2,500 cases so that ``query_all`` crosses the 2,000-record batch boundary. It and
the server are made once per test session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from fastapi.testclient import TestClient
from simple_salesforce import Salesforce

from crm_core.api.app import create_app
from crm_core.api.context import ApiSettings
from crm_core.api.launcher import ServerProcess, start_server_process
from crm_core.store.engine import open_app_store
from crm_core.users import accounts
from tests.conftest import shared_sqlite_org

API_TODAY = "2025-06-01"
CASES = 2500
PASSWORDS = {"rita": "rita-research-pw", "ada": "ada-admin-pw", "ed": "ed-expert-pw", "lou": "lou-locked-pw"}
ROLES = {"rita": "researcher", "ada": "admin", "ed": "expert", "lou": "researcher"}


@dataclass(frozen=True)
class ApiServer:
    """A server under test: its base URL, CA file and databases."""

    base_url: str
    ca: str
    org_url: str
    app_url: str
    running: ServerProcess

    def session(self) -> requests.Session:
        """A requests session that verifies the server against the generated CA."""
        return self.running.session()

    def login(self, username: str, password: str | None = None) -> requests.Response:
        """The raw answer of the OAuth username-password flow."""
        return self.session().post(
            f"{self.base_url}/services/oauth2/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": PASSWORDS[username] if password is None else password,
                "client_id": "tests",
                "client_secret": "shh",
            },
        )

    def salesforce(self, token: str) -> Salesforce:
        """A simple-salesforce client on this server with `token` as its session id."""
        return Salesforce(instance_url=self.base_url, session_id=token, session=self.session())


@pytest.fixture(scope="session")
def api_org_url(tmp_path_factory) -> str:
    from crm_core.org.generator import generate_org

    return shared_sqlite_org(tmp_path_factory, "api", lambda url: generate_org(url, cases=CASES, seed=11))


@pytest.fixture(scope="session")
def api_server(api_org_url, tmp_path_factory) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("api_server")
    app_url = f"sqlite:///{folder / 'app.db'}"
    sessions = open_app_store(app_url)
    with sessions() as session:
        for username, role in ROLES.items():
            accounts.add_user(session, username, role, PASSWORDS[username])
    sessions.kw["bind"].dispose()
    options = ("--today", API_TODAY, "--max-login-failures", "3", "--log-level", "warning")
    running = start_server_process(api_org_url, app_url, folder, extra_args=options)
    yield ApiServer(running.base_url, str(running.ca), api_org_url, app_url, running)
    running.stop()


@pytest.fixture(scope="session")
def api_token(api_server) -> str:
    """An access token of the researcher ``rita``."""
    answer = api_server.login("rita")
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="session")
def sf(api_server, api_token) -> Salesforce:
    return api_server.salesforce(api_token)


def app_store_with_users(app_url: str, *usernames: str) -> None:
    """Create the app store at `app_url` with these users (roles and passwords of ``ROLES``)."""
    sessions = open_app_store(app_url)
    with sessions() as session:
        for username in usernames:
            accounts.add_user(session, username, ROLES[username], PASSWORDS[username])
    sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def client(api_org_url, tmp_path_factory) -> Iterator[TestClient]:
    """The app in process (no TLS, no server) with the users rita and ada; one per test module."""
    app_url = f"sqlite:///{tmp_path_factory.mktemp('api_inprocess') / 'app.db'}"
    app_store_with_users(app_url, "rita", "ada")
    app = create_app(ApiSettings(org_db=api_org_url, app_db=app_url))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as test_client:
        yield test_client
