"""First start on an empty machine: org generated, app store migrated, admin created once, cookie key written."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from crm_core.db import make_engine
from crm_core.org.schema import Base
from crm_core.store import open_app_store
from crm_core.studio.startup import cookie_key, org_state
from crm_core.users import list_users, verify_password

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.mark.slow
def test_first_start_generates_the_org_and_prints_the_admin_password_once(tmp_path, monkeypatch, capfd):
    org_url = f"sqlite:///{tmp_path / 'data' / 'org.db'}"
    app_url = f"sqlite:///{tmp_path / 'data' / 'app.db'}"
    secrets = tmp_path / "secrets.toml"
    monkeypatch.setenv("CRM_ORG_DB", org_url)
    monkeypatch.setenv("CRM_APP_DB", app_url)
    monkeypatch.setenv("CRM_SECRETS_FILE", str(secrets))
    monkeypatch.setenv("CRM_ORG_SCALE", "tiny")
    assert org_state(org_url) == "missing"

    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]  # then the sign-in form
    assert org_state(org_url) == "ready"
    engine = make_engine(org_url)
    with engine.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM "Case"')).scalar_one() == 300  # the tiny scale
    engine.dispose()

    printed = capfd.readouterr().err
    passwords = re.findall(r"created user 'admin' with password: (\S+)", printed)
    assert len(passwords) == 1
    with open_app_store(app_url)() as session:
        assert [(u.username, u.role) for u in list_users(session)] == [("admin", "admin")]
        assert verify_password(session, "admin", passwords[0])

    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    key = tomllib.loads(secrets.read_text())["auth"]["cookie_key"]
    assert len(key) >= 32 and cookie_key(secrets) == key  # generated once, then kept

    AppTest.from_file(APP, default_timeout=60).run()  # a second start prints nothing new
    assert "created user 'admin'" not in capfd.readouterr().err


def test_an_interrupted_generation_is_reported(tmp_path, monkeypatch):
    org_url = f"sqlite:///{tmp_path / 'org.db'}"
    engine = make_engine(org_url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text('DROP INDEX "ix_Case_AccountId"'))  # the generator builds indexes last
    engine.dispose()
    assert org_state(org_url) == "incomplete"
    monkeypatch.setenv("CRM_ORG_DB", org_url)
    monkeypatch.setenv("CRM_APP_DB", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("CRM_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("is incomplete" in e.value and "generate --force" in e.value for e in at.error)
    assert not at.text_input  # no sign-in on half an org


def test_a_secrets_file_with_other_settings_keeps_them(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[other]\nvalue = "x"\n')
    key = cookie_key(secrets)
    data = tomllib.loads(secrets.read_text())
    assert data == {"other": {"value": "x"}, "auth": {"cookie_key": key}}
