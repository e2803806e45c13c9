"""A running API server (subprocess, HTTPS on 127.0.0.1) over a generated org, for the API tests.

The org has 2,500 cases so that ``query_all`` crosses the 2,000-record batch boundary. It and
the server are made once per test session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from crm_core.store.engine import open_app_store
from crm_core.users import accounts

REPO = Path(__file__).resolve().parents[2]
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
    process: subprocess.Popen

    def session(self) -> requests.Session:
        """A requests session that verifies the server against the generated CA."""
        session = requests.Session()
        session.verify = self.ca
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `verify` when it trusts the
        # environment (requests issue 3829); the machine may set them, so do not trust it.
        session.trust_env = False
        return session

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

    url = f"sqlite:///{tmp_path_factory.mktemp('api_org') / 'org.db'}"
    generate_org(url, cases=CASES, seed=11)
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def api_server(api_org_url, tmp_path_factory) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("api_server")
    app_url = f"sqlite:///{folder / 'app.db'}"
    sessions = open_app_store(app_url)
    with sessions() as session:
        for username, role in ROLES.items():
            accounts.add_user(session, username, role, PASSWORDS[username])
    sessions.kw["bind"].dispose()
    port = _free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crm_core",
            "serve",
            "--port",
            str(port),
            "--org-db",
            api_org_url,
            "--app-db",
            app_url,
            "--tls-dir",
            str(folder / "tls"),
            "--today",
            API_TODAY,
            "--max-login-failures",
            "3",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = ApiServer(f"https://127.0.0.1:{port}", str(folder / "tls" / "ca.pem"), api_org_url, app_url, process)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"the API server exited: {(folder / 'server.log').read_text()}")
        try:
            if server.session().get(f"{server.base_url}/services/data/", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the API server did not answer within 60 s: {(folder / 'server.log').read_text()}")
        time.sleep(0.2)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def api_token(api_server) -> str:
    """An access token of the researcher ``rita``."""
    answer = api_server.login("rita")
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="session")
def sf(api_server, api_token) -> Salesforce:
    return api_server.salesforce(api_token)
