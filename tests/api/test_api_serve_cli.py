"""``python -m crm_core serve``: flags, one-line errors, a certificate of the user's own, stopping."""

from __future__ import annotations

import signal
import sys

import pytest

from crm_core.api.launcher import start_server_process
from crm_core.api.tls import ensure_local_certificate


def _serve(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run ``python -m crm_core serve ARGS`` in process; its exit code and standard error."""
    from crm_core.cli import main

    monkeypatch.setattr(sys, "argv", ["crm_core", "serve", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cert", "nowhere.pem"), "give both --cert and --key"),
        (("--cert", "nowhere.pem", "--key", "nokey.pem"), "--cert: no such file: nowhere.pem"),
        (("--today", "June 1st"), "--today: expected YYYY-MM-DD"),
    ],
)
def test_bad_flags_give_one_line_errors(monkeypatch, capsys, args, message):
    code, err = _serve(monkeypatch, capsys, *args)
    assert code == 1
    assert err.strip() == f"Error: {message}" or (message in err and len(err.strip().splitlines()) == 1)


def test_missing_org_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    code, err = _serve(
        monkeypatch,
        capsys,
        "--org-db",
        f"sqlite:///{tmp_path / 'missing.db'}",
        "--app-db",
        f"sqlite:///{tmp_path / 'app.db'}",
        "--tls-dir",
        str(tmp_path / "tls"),
    )
    assert code == 1
    assert err.strip().startswith("Error: no org database at") and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_own_certificate_is_used_and_nothing_is_generated(api_org_url, tmp_path):
    own = ensure_local_certificate(tmp_path / "own")
    folder = tmp_path / "server"
    running = start_server_process(
        api_org_url,
        f"sqlite:///{tmp_path / 'app.db'}",
        folder,
        extra_args=("--cert", str(own.cert), "--key", str(own.key), "--log-level", "warning"),
        ca=own.ca,
    )
    try:
        assert not (folder / "tls").exists()
        answer = running.session().get(f"{running.base_url}/services/data/v60.0/sobjects")
        assert answer.status_code == 401 and answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
        put = running.session().put(f"{running.base_url}/services/data/v60.0/sobjects/Case/500000000000000")
        assert put.status_code == 405 and put.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    finally:
        running.stop()
    assert "CA certificate" not in running.log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_stops_the_server_while_an_idle_client_keeps_its_connection(api_org_url, tmp_path, workers):
    """Over TLS, closing an idle keep-alive connection waits for the client's close_notify, which an
    idle client never sends: the server waited 30 s before it stopped. It now drops the connection."""
    running = start_server_process(
        api_org_url,
        f"sqlite:///{tmp_path / 'app.db'}",
        tmp_path / "server",
        extra_args=("--log-level", "info", "--workers", workers),
    )
    client = running.session()
    try:
        assert client.get(f"{running.base_url}/services/data/").status_code == 200  # pooled, kept open
        running.process.terminate()
        code = running.process.wait(timeout=20)  # 30 s before the change
    finally:
        running.stop()
        client.close()
    log = running.log.read_text()
    assert code in (0, -signal.SIGTERM), log
    assert "Waiting for connections to close" not in log and "Finished server process" in log


@pytest.mark.slow
def test_worker_processes_share_tokens_and_cursors(api_org_url, tmp_path):
    from simple_salesforce import Salesforce

    from crm_core.store.engine import open_app_store
    from crm_core.users import accounts

    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    sessions = open_app_store(app_url)
    with sessions() as session:
        accounts.add_user(session, "rita", "researcher", "rita-research-pw")
    sessions.kw["bind"].dispose()
    running = start_server_process(api_org_url, app_url, tmp_path / "server", extra_args=("--workers", "2"))
    try:
        login = running.session().post(
            f"{running.base_url}/services/oauth2/token",
            data={"grant_type": "password", "username": "rita", "password": "rita-research-pw"},
        )
        assert login.status_code == 200, login.text
        expected = None
        for _ in range(4):  # fresh connections, so batches land on either worker
            sf = Salesforce(
                instance_url=running.base_url, session_id=login.json()["access_token"], session=running.session()
            )
            ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Case ORDER BY Id")["records"]]
            assert len(ids) > 2000 and (expected is None or ids == expected)
            expected = ids
    finally:
        running.stop()


def test_unreachable_org_database_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    code, err = _serve(
        monkeypatch,
        capsys,
        "--org-db",
        "postgresql://nobody:secret@127.0.0.1:1/nothing",
        "--app-db",
        f"sqlite:///{tmp_path / 'app.db'}",
        "--tls-dir",
        str(tmp_path / "tls"),
    )
    assert code == 1
    assert err.startswith("Error: cannot open the org database") and len(err.strip().splitlines()) == 1
    assert "secret" not in err


@pytest.mark.postgres
def test_empty_database_is_not_an_org(monkeypatch, capsys, tmp_path, pg_url):
    code, err = _serve(
        monkeypatch,
        capsys,
        "--org-db",
        pg_url,
        "--app-db",
        f"sqlite:///{tmp_path / 'app.db'}",
        "--tls-dir",
        str(tmp_path / "tls"),
    )
    assert code == 1
    assert err.startswith("Error: no org in") and "generate" in err
