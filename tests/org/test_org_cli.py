"""The org CLI as a user runs it: `generate`, `org stats`, `org check`, and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crm_core.db import sqlite_path

ROOT = Path(__file__).resolve().parents[2]


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m crm_core ARGS`` in a real process (kept where the process boundary matters)."""
    env = {k: v for k, v in os.environ.items() if k not in {"CRM_ORG_DB", "CRM_APP_DB"}}
    return subprocess.run(
        [sys.executable, "-m", "crm_core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def cli(cli, monkeypatch):
    """The same command run in this process (the conftest `cli`), shaped as a finished process."""
    monkeypatch.delenv("CRM_ORG_DB", raising=False)
    monkeypatch.delenv("CRM_APP_DB", raising=False)

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        code, out, err = cli(*args)
        return subprocess.CompletedProcess(["crm_core", *args], code, out, err)

    return invoke


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


def test_stats_json_and_check_ok(tiny_org_url: str, cli) -> None:
    result = cli("org", "stats", "--json", "--org-db", tiny_org_url)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["counts"]["Case"] == 300 and len(stats["digest"]) == 64
    check = cli("org", "check", "--org-db", tiny_org_url)
    assert check.returncode == 0, check.stdout
    assert "OK" in check.stdout


def test_stats_table(tiny_org_url: str, cli) -> None:
    result = cli("org", "stats", "--org-db", tiny_org_url)
    assert result.returncode == 0
    assert "CaseHistory__c" in result.stdout and "digest:" in result.stdout


def test_check_prints_violations_and_exits_1(tiny_org_url: str, tmp_path: Path, cli) -> None:
    copy = tmp_path / "broken.db"
    shutil.copy(sqlite_path(tiny_org_url), copy)
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        conn.execute(text("""UPDATE "Case" SET "Status" = 'New' WHERE "Status" = 'Closed'"""))
    engine.dispose()
    result = cli("org", "check", "--org-db", f"sqlite:///{copy}")
    assert result.returncode == 1
    assert "[case-closure] Case 500" in result.stdout
    assert "[case-history] Case 500" in result.stdout


def test_generate_then_refuse_to_overwrite(tmp_path: Path, cli) -> None:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    first = cli("generate", "--cases", "40", "--seed", "3", "--org-db", url)
    assert first.returncode == 0, first.stderr
    assert "Generated the org" in first.stdout + first.stderr
    again = cli("generate", "--cases", "40", "--seed", "3", "--org-db", url)
    assert_one_line_error(again, "already exists", "--force")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["generate", "--scale", "huge"], ["unknown scale 'huge'"]),
        (["generate", "--cases", "0"], ["--cases"]),
        (["generate", "--org-db", "mysql://u@h/db"], ["unsupported database 'mysql'"]),
        (["generate", "--org-db", "not a url"], ["not a database URL"]),
        (["org", "stats", "--org-db", "sqlite:////nonexistent/dir/org.db"], ["no org database"]),
    ],
)
def test_bad_input_is_a_one_line_error(args: list[str], fragments: list[str], tmp_path: Path, cli) -> None:
    if "--org-db" not in args:
        args = [*args, "--org-db", f"sqlite:///{tmp_path / 'x.db'}"]
    assert_one_line_error(cli(*args), *fragments)


@pytest.mark.slow
def test_unreachable_server_is_a_one_line_error() -> None:
    result = run_process("generate", "--scale", "tiny", "--org-db", "postgresql://crm:secret@127.0.0.1:1/nothing")
    assert_one_line_error(result, "cannot open the org database")
    assert "secret" not in result.stderr


def test_stats_on_an_empty_database_is_a_one_line_error(tmp_path: Path, cli) -> None:
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()
    assert_one_line_error(cli("org", "stats", "--org-db", f"sqlite:///{empty}"), "no generated org")


@pytest.mark.postgres
@pytest.mark.slow
def test_generate_on_postgresql_builds_the_task_set_beside_the_search_index(tmp_path: Path, pg_url: str, cli) -> None:
    """On PostgreSQL the task set is built while the server builds the search index: the same org
    (digest) and the same task set as on SQLite, and the index is whole when `generate` returns."""
    from crm_core.db import make_engine
    from crm_core.org.stats import org_stats
    from crm_core.query.fulltext import has_search_index
    from crm_core.tasks.records import load_tasks

    sqlite = f"sqlite:///{tmp_path / 'org.db'}"
    for url in (sqlite, pg_url):
        result = cli("generate", "--cases", "120", "--seed", "5", "--org-db", url)
        assert result.returncode == 0, result.stderr
        assert "Generated the org" in result.stdout + result.stderr
    engines = [make_engine(sqlite), make_engine(pg_url)]
    try:
        lite, pg = (org_stats(engine).digest for engine in engines)
        assert lite == pg
        with engines[1].connect() as conn:
            assert has_search_index(conn)
            invalid = conn.execute(text("SELECT count(*) FROM pg_index WHERE NOT indisvalid")).scalar_one()
            assert invalid == 0
    finally:
        for engine in engines:
            engine.dispose()
    as_records = [[i.to_record() for i in sorted(load_tasks(url), key=lambda i: i.idx)] for url in (sqlite, pg_url)]
    assert as_records[0] == as_records[1] and len(as_records[0]) > 0


@pytest.mark.postgres
@pytest.mark.slow
def test_rebuilding_the_search_index_on_postgresql_keeps_every_part(pg_url: str) -> None:
    """A second build replaces each index once: a part's build never drops its sibling's."""
    from crm_core.db import make_engine
    from crm_core.org.generator import generate_org
    from crm_core.org.search_index import PG_PARTS, build_search_index, index_name, pg_index_names

    generate_org(pg_url, cases=40, seed=3)
    engine = make_engine(pg_url)
    try:
        build_search_index(engine)
        with engine.connect() as conn:
            names = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes"))}
        for table in PG_PARTS:
            assert set(pg_index_names(table)) <= names and index_name(table) not in names
        assert index_name("Case") in names
    finally:
        engine.dispose()
