"""Users: bcrypt hashes, lower-case names, the first-start admin, login config, the CLI."""

from __future__ import annotations

import io
import subprocess
import sys

import bcrypt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from streamlit_authenticator import Hasher

from crm_core.users import (
    UserError,
    add_user,
    authenticator_credentials,
    ensure_admin,
    hash_password,
    list_users,
    set_password,
    set_role,
    verify_password,
)


@pytest.fixture
def sessions(app_db_url):
    from crm_core.store import open_app_store

    factory = open_app_store(app_db_url)
    yield factory
    factory.kw["bind"].dispose()


def test_passwords_are_stored_as_bcrypt_hashes_only(sessions):
    with sessions() as session:
        user, generated = add_user(session, "Expert.One", "expert", "correct horse", name="Expert One")
        assert generated is None
        assert user.username == "expert.one"
        stored = session.scalar(text("SELECT password_hash FROM app_users WHERE username = 'expert.one'"))
        everything = " ".join(str(v) for row in session.execute(text("SELECT * FROM app_users")) for v in row)
    assert stored.startswith("$2b$") and "correct horse" not in everything
    assert bcrypt.checkpw(b"correct horse", stored.encode())
    assert Hasher.check_pw("correct horse", stored)  # what streamlit-authenticator will check
    with sessions() as session:
        assert verify_password(session, "EXPERT.ONE", "correct horse")
        assert not verify_password(session, "expert.one", "correct horsE")
        assert not verify_password(session, "nobody", "correct horse")


def test_generated_passwords_work_and_differ(sessions):
    with sessions() as session:
        _, first = add_user(session, "a1", "expert")
        _, second = add_user(session, "a2", "researcher")
        assert first and second and first != second and len(first) >= 16
        assert verify_password(session, "a1", first) and not verify_password(session, "a1", second)


def test_bad_users_are_refused_with_clear_messages(sessions):
    with sessions() as session:
        add_user(session, "dana", "expert", "password-1")
        with pytest.raises(UserError, match="user 'dana' already exists"):
            add_user(session, "DANA", "admin", "password-2")
        with pytest.raises(UserError, match="invalid role 'boss': use one of expert, researcher, admin"):
            add_user(session, "erin", "boss", "password-1")
        with pytest.raises(UserError, match="invalid username 'has space'"):
            add_user(session, "has space", "expert", "password-1")
        with pytest.raises(UserError, match="password is too short"):
            add_user(session, "erin", "expert", "short")
        with pytest.raises(UserError, match="no user 'ghost'"):
            set_password(session, "ghost", "password-1")
        assert [u.username for u in list_users(session)] == ["dana"]


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_bcrypt_length_rules(password):
    size = len(password.encode("utf-8"))
    if size > 72:
        with pytest.raises(UserError, match=f"password is {size} bytes long; bcrypt allows at most 72 bytes"):
            hash_password(password)
    elif len(password) < 8:
        with pytest.raises(UserError, match="too short"):
            hash_password(password)
    else:
        assert bcrypt.checkpw(password.encode("utf-8"), hash_password(password).encode())


def test_first_start_creates_one_admin(sessions):
    with sessions() as session:
        password = ensure_admin(session)
        assert password is not None
        assert ensure_admin(session) is None
        (admin,) = list_users(session)
        assert (admin.username, admin.role) == ("admin", "admin")
        assert verify_password(session, "admin", password)


def test_roles_change_but_the_last_admin_stays(sessions):
    with sessions() as session:
        ensure_admin(session)
        add_user(session, "fay", "expert", "password-1")
        with pytest.raises(UserError, match="last admin"):
            set_role(session, "admin", "expert")
        assert set_role(session, "fay", "admin").role == "admin"
        assert set_role(session, "admin", "researcher").role == "researcher"
        new = set_password(session, "fay")
        assert new and verify_password(session, "fay", new) and not verify_password(session, "fay", "password-1")


def test_authenticator_credentials_format(sessions):
    with sessions() as session:
        add_user(session, "Gus", "researcher", "password-1", name="Gus G", email="gus@example.org")
        add_user(session, "hal", "expert", "password-2")
        hashes = dict(session.execute(text("SELECT username, password_hash FROM app_users")).all())
        credentials = authenticator_credentials(session)
    assert credentials == {
        "usernames": {
            "gus": {"name": "Gus G", "email": "gus@example.org", "password": hashes["gus"], "roles": ["researcher"]},
            "hal": {"name": "hal", "email": "", "password": hashes["hal"], "roles": ["expert"]},
        }
    }


def _cli(app_db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm_core", "users", *args, "--app-db", app_db_url],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_adds_lists_and_resets(app_db_url, sessions, cli, monkeypatch):
    # One real process: the password arrives through a piped standard input.
    added = _cli(app_db_url, "add", "--username", "Ivy", "--role", "expert", stdin="ivy-password\n")
    assert added.returncode == 0, added.stderr
    assert "Added expert ivy." in added.stdout and "Generated" not in added.stdout
    with sessions() as session:  # the product's work factor (the tests use bcrypt's lowest elsewhere)
        stored = session.scalar(text("SELECT password_hash FROM app_users WHERE username = 'ivy'"))
    assert stored.startswith("$2b$12$")

    def users(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli("users", *args, "--app-db", app_db_url)

    code, out, err = users("add", "--username", "jo", "--role", "researcher")
    assert code == 0, err
    password = out.split("Generated password for jo: ")[1].split()[0]
    code, out, err = users("list")
    assert "ivy" in out and "researcher" in out
    code, out, err = users("set-password", "--username", "ivy", stdin="new-password\n")
    assert code == 0, err
    code, out, err = users("add", "--username", "kim", "--role", "expert", stdin="x" * 80 + "\n")
    assert code == 1
    assert err.strip().splitlines()[-1] == "Error: password is 80 bytes long; bcrypt allows at most 72 bytes"
    with sessions() as session:
        assert verify_password(session, "jo", password)
        assert verify_password(session, "ivy", "new-password")
        assert not verify_password(session, "ivy", "ivy-password")
        assert [u.username for u in list_users(session)] == ["ivy", "jo"]
