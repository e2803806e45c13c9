"""``org push``: org A into an empty org B served with ``--writable=shared``, through simple-salesforce.

B's records are read back with hand-written SQL on its SQLite file and compared with A's field
by field (references through the push's id map, which must pair every record).
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from crm_core.api.launcher import ServerProcess, start_server_process
from crm_core.db import make_readonly_engine
from crm_core.errors import UserFacingError
from crm_core.org.generator import create_empty_org
from crm_core.org.metadata import describe_org
from crm_core.org.push import PushState, connect, push_org, pushed_fields
from crm_core.org.schema import OBJECT_MODELS
from tests.api.conftest import PASSWORDS, app_store_with_users
from tests.conftest import ORG_TEST_SEED, shared_sqlite_org

pytestmark = pytest.mark.slow  # a server per test and hundreds of records through it
PUSHED_CASES = 40  # every object and field of a generated org, in a few hundred records
BATCH = 30  # small jobs, so the larger objects take several
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Target:
    org_path: Path
    server: ServerProcess

    def client(self, session: requests.Session | None = None):
        return connect(
            self.server.base_url,
            username="rita",
            password=PASSWORDS["rita"],
            session=session or self.server.session(),
        )


def _empty_target(folder: Path) -> Target:
    org_path = folder / "org_b.db"
    create_empty_org(f"sqlite:///{org_path}")
    app_url = f"sqlite:///{folder / 'app.db'}"
    app_store_with_users(app_url, "rita")
    server = start_server_process(
        f"sqlite:///{org_path}", app_url, folder, extra_args=("--writable=shared", "--log-level", "warning")
    )
    return Target(org_path, server)


@pytest.fixture(scope="session")
def source_url(tmp_path_factory) -> str:
    """The org pushed (a generated org of `PUSHED_CASES` cases; treat it as read-only)."""
    from crm_core.org.generator import generate_org

    build = lambda url: generate_org(url, cases=PUSHED_CASES, seed=ORG_TEST_SEED)  # noqa: E731
    return shared_sqlite_org(tmp_path_factory, f"push-{PUSHED_CASES}", build)


@pytest.fixture
def target(tmp_path) -> Iterator[Target]:
    made = _empty_target(tmp_path)
    yield made
    made.server.stop()


def _rows(path: Path, table: str) -> list[dict]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(f'SELECT * FROM "{table}"')]  # noqa: S608 - schema names


def _path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _assert_same_org(source: Path, target: Path, ids: dict[str, str]) -> None:
    for obj in describe_org().values():
        a_rows, b_rows = _rows(source, obj.name), _rows(target, obj.name)
        assert len(b_rows) == len(a_rows), obj.name
        b_by_id = {row["Id"]: row for row in b_rows}
        assert len({ids[row["Id"]] for row in a_rows}) == len(a_rows), obj.name  # one B record per A record
        references = {f.name for f in obj.fields if f.reference_to}
        for a in a_rows:
            b = b_by_id[ids[a["Id"]]]
            for name in pushed_fields(obj):
                expected = ids[a[name]] if name in references and a[name] else a[name]
                assert b[name] == expected, (obj.name, a["Id"], name)
        if obj.name in {"Contact", "User"}:  # compound names rebuilt by B from the pushed parts
            assert sorted(r["Name"] for r in b_rows) == sorted(r["Name"] for r in a_rows)


def test_push_round_trip(source_url: str, target: Target, tmp_path: Path) -> None:
    state = PushState(tmp_path / "state.sqlite")
    progress: list[tuple[str, int, int]] = []
    engine = make_readonly_engine(source_url)
    reports = push_org(engine, target.client(), state, batch_size=BATCH, progress=lambda *a: progress.append(a))
    ids = state.id_map()
    _assert_same_org(_path(source_url), target.org_path, ids)
    counts = {m.__tablename__: len(_rows(_path(source_url), m.__tablename__)) for m in OBJECT_MODELS}
    by_object = {r.object: r for r in reports}
    last_progress = {name: (done, total) for name, done, total in progress}
    for name, count in counts.items():
        assert (by_object[name].records, by_object[name].created, by_object[name].failed) == (count, count, 0)
        assert by_object[name].jobs == -(-count // BATCH)
        assert last_progress[name] == (count, count)
    # every object is pushed after the objects it points at
    order = [name for name, done, _ in progress if done == 0]
    for obj in describe_org().values():
        for f in obj.fields:
            if f.reference_to and f.reference_to != obj.name:
                assert order.index(f.reference_to) < order.index(obj.name)
    engine.dispose()
    state.close()


class _DropsConnection(requests.Session):
    """A session whose connection drops at the `nth` request `method ...suffix` (a network failure)."""

    def __init__(self, verify: str, method: str, suffix: str, nth: int) -> None:
        super().__init__()
        self.verify, self.trust_env = verify, False
        self.method, self.suffix, self.nth = method, suffix, nth
        self.seen = 0

    def request(self, method, url, *args, **kwargs):
        if method == self.method and url.rstrip("/").endswith(self.suffix):
            self.seen += 1
            if self.seen == self.nth:
                raise requests.ConnectionError(f"connection dropped before {method} {url}")
        return super().request(method, url, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "suffix", "nth"),
    [
        pytest.param("PUT", "/batches", 9, id="job-open"),  # a job created, its data not uploaded
        pytest.param("GET", "/successfulResults", 9, id="job-closed"),  # records written, results unread
    ],
)
def test_an_interrupted_push_resumes_without_duplicates(source_url, target, tmp_path, method, suffix, nth) -> None:
    state_path = tmp_path / "state.sqlite"
    engine = make_readonly_engine(source_url)
    flaky = _DropsConnection(str(target.server.ca), method, suffix, nth)
    with pytest.raises(UserFacingError, match="rerun the push to resume"):
        push_org(engine, target.client(flaky), PushState(state_path), batch_size=BATCH)
    assert flaky.seen == nth
    pushed = sum(len(_rows(target.org_path, m.__tablename__)) for m in OBJECT_MODELS)
    assert 0 < pushed < sum(len(_rows(_path(source_url), m.__tablename__)) for m in OBJECT_MODELS)
    state = PushState(state_path)
    push_org(engine, target.client(), state, batch_size=BATCH)
    _assert_same_org(_path(source_url), target.org_path, state.id_map())
    engine.dispose()
    state.close()


def test_cli_push_with_the_password_flow(source_url: str, target: Target, tmp_path: Path, cli, monkeypatch) -> None:
    """The push in a real process; the refused password and the rerun through the same `main()` here."""
    arguments = ["org", "push", "--instance-url", target.server.base_url, "--org-db", source_url]
    arguments += ["--username", "rita", "--ca-bundle", str(target.server.ca)]
    arguments += ["--state", str(tmp_path / "cli_state.sqlite"), "--batch-size", "500"]
    monkeypatch.setenv("SF_PASSWORD", "not-her-password")
    code, _, err = cli(*arguments)
    assert code == 1 and "authentication failure" in err
    assert _rows(target.org_path, "Case") == []
    monkeypatch.setenv("SF_PASSWORD", PASSWORDS["rita"])
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "crm_core", *arguments]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "Pushed to" in done.stdout and "Case" in done.stdout
    cases = len(_rows(_path(source_url), "Case"))
    assert len(_rows(target.org_path, "Case")) == cases
    code, _, err = cli(*arguments)
    assert code == 0, err
    assert len(_rows(target.org_path, "Case")) == cases  # a rerun of a finished push adds nothing


def test_users_as_points_every_owner_at_one_target_user(source_url: str, target: Target, tmp_path: Path) -> None:
    sf = target.client()
    owner = sf.User.create(
        {"LastName": "Admin", "Email": "admin@example.com", "Username": "admin@example.com", "IsActive": True}
    )["id"]
    state = PushState(tmp_path / "state.sqlite")
    reports = push_org(make_readonly_engine(source_url), sf, state, batch_size=1000, users_as=owner)
    assert "User" not in {r.object for r in reports} and all(r.failed == 0 for r in reports)
    assert [row["Id"] for row in _rows(target.org_path, "User")] == [owner]
    for table in ("Contact", "Case", "LiveChatTranscript"):
        source_rows = _rows(_path(source_url), table)
        assert {row["OwnerId"] for row in _rows(target.org_path, table)} == {owner}
        assert len(_rows(target.org_path, table)) == len(source_rows)
    state.close()


def test_simple_salesforce_bulk2_calls(target: Target) -> None:
    """The client's own high-level Bulk API 2.0 calls: insert, upsert, failed records, delete."""
    bulk = target.client().bulk2.Issue__c
    wait = 0.2  # seconds before the client first asks for the job's state (its default, 5, suits a busy org)
    inserted = bulk.insert(
        records=[{"Name": "Strap torn"}, {"Name": "Zip stuck"}, {"Description__c": "no name"}], wait=wait
    )
    assert [(r["numberRecordsProcessed"], r["numberRecordsFailed"]) for r in inserted] == [(3, 1)]
    failed = list(csv.DictReader(io.StringIO(bulk.get_failed_records(inserted[0]["job_id"]))))
    assert [(row["sf__Error"].split(":")[0], row["Description__c"]) for row in failed] == [
        ("REQUIRED_FIELD_MISSING", "no name")
    ]
    upserted = bulk.upsert(
        records=[{"Name": "Zip stuck", "Description__c": "teeth"}], external_id_field="Name", wait=wait
    )
    assert upserted[0]["numberRecordsFailed"] == 0
    rows = {row["Name"]: row for row in _rows(target.org_path, "Issue__c")}
    assert set(rows) == {"Strap torn", "Zip stuck"} and rows["Zip stuck"]["Description__c"] == "teeth"
    deleted = bulk.delete(records=[{"Id": rows["Strap torn"]["Id"]}], wait=wait)
    assert deleted[0]["numberRecordsFailed"] == 0
    assert [row["Name"] for row in _rows(target.org_path, "Issue__c")] == ["Zip stuck"]
