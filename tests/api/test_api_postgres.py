"""The API with both databases on a real PostgreSQL server: org read-only, tokens in the app store."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest
from sqlalchemy import create_engine, text

from crm_core.api.launcher import start_server_process
from crm_core.store.engine import open_app_store
from crm_core.users import accounts
from tests.conftest import create_pg_database, drop_pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server(tiny_org_pg_url, tmp_path_factory):
    app_url = create_pg_database("crm_api_app")
    sessions = open_app_store(app_url)
    with sessions() as session:
        accounts.add_user(session, "rita", "researcher", "rita-research-pw")
    sessions.kw["bind"].dispose()
    running = start_server_process(
        tiny_org_pg_url, app_url, tmp_path_factory.mktemp("api_pg"), extra_args=("--log-level", "warning")
    )
    try:
        yield running, tiny_org_pg_url, app_url
    finally:
        running.stop()
        drop_pg_database(app_url)


def test_postgres_org_and_store(pg_server):
    running, org_url, app_url = pg_server
    login = running.session().post(
        f"{running.base_url}/services/oauth2/token",
        data={"grant_type": "password", "username": "rita", "password": "rita-research-pw"},
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    engine = create_engine(org_url)
    with engine.connect() as conn:
        expected = conn.execute(text('SELECT "Id", "Name" FROM "Account" ORDER BY "Id" LIMIT 3')).all()
        count = conn.execute(text('SELECT COUNT(*) FROM "Case"')).scalar_one()
    sf = Salesforce(instance_url=running.base_url, session_id=token, session=running.session())
    result = sf.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 3")
    assert [(r["Id"], r["Name"]) for r in result["records"]] == [tuple(row) for row in expected]
    assert sf.query("SELECT COUNT() FROM Case")["totalSize"] == count
    with pytest.raises(SalesforceRefusedRequest):
        sf.Account.update(expected[0][0], {"Name": "Changed"})
    with engine.connect() as conn:
        assert (
            conn.execute(text('SELECT "Name" FROM "Account" WHERE "Id" = :id'), {"id": expected[0][0]}).scalar_one()
            == expected[0][1]
        )
    engine.dispose()
    app = create_engine(app_url)
    with app.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    app.dispose()
    assert len(stored) == 1 and token not in stored[0]
