"""Shared fixtures: database URLs for SQLite and for a real PostgreSQL server.

PostgreSQL tests use the server named by ``CRM_TEST_PG_URL`` (set by ``scripts/test.sh``);
each fixture creates a fresh database and drops it afterwards. Without the variable they are
skipped on a developer machine and fail under CI, so CI can never pass without PostgreSQL.
"""

from __future__ import annotations

import gc
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Hypothesis profiles. No wall-clock limits in tests: the CI machine has two busy cores (speed is
# measured in bench/). "crm", the default: 100 examples a property test (hypothesis's own default),
# unless the test sets a count of its own. "thorough" (CRM_HYPOTHESIS_PROFILE=thorough): 1,000.
settings.register_profile("crm", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100)
settings.register_profile("thorough", settings.get_profile("crm"), max_examples=1000)
settings.load_profile(os.environ.get("CRM_HYPOTHESIS_PROFILE", "crm"))


GC_THRESHOLDS = (50_000, 20, 20)
"""The cyclic garbage collector's thresholds in the test processes (Python's: 700, 10, 10)."""


def pytest_configure(config: pytest.Config) -> None:
    """Let the garbage collector run less often in each test process (collection included).

    Importing the project and its libraries and building thousands of pydantic and SQLAlchemy
    objects set off Python's collector every 700 allocations, and each pass walks the young
    objects again; the tests hold no cycle that needs freeing sooner.
    """
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what importing and collecting made into the collector's permanent generation: it lives
    as long as the process, so later passes need not walk it again."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def _cheap_bcrypt() -> Iterator[None]:
    """Real bcrypt at its lowest work factor for users the tests create (session fixtures too).

    Checking a password costs what its stored hash says, so studios and API servers started by
    the tests sign their users in cheaply as well. The work factor the product uses is checked
    where a real `users add` process stores a hash (tests/store/test_users.py).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("crm_core.users.accounts.BCRYPT_ROUNDS", 4)
        yield


def _pg_admin_url() -> str:
    url = os.environ.get("CRM_TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CRM_TEST_PG_URL is not set: CI must run the PostgreSQL tests")
        pytest.skip("CRM_TEST_PG_URL is not set")
    return url


def create_pg_database(prefix: str = "crm_test") -> str:
    """Create an empty PostgreSQL database and return its URL."""
    admin_url = _pg_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database`, closing its connections."""
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``python -m crm_core ARGS`` in this process: returns (exit code, stdout, stderr)."""
    from crm_core.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["crm_core", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite file URL in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'org.db'}"


@pytest.fixture
def app_db_url(tmp_path) -> str:
    """A fresh SQLite app store URL (not yet migrated: ``open_app_store`` does that)."""
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def app_db_pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for an app store."""
    url = create_pg_database("crm_app_test")
    yield url
    drop_pg_database(url)


# --- xdist: the tests of a module that starts processes for all its tests go to one worker ---

ONE_WORKER_MODULES = ("tests/browser/", "tests/sweeps/test_provider_limits_pg.py")
"""Modules (or folders of them) whose tests share processes started once per module: a browser
module's Streamlit server, the provider-limit tests' sweep workers."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n` with the default `--dist load`, except that each module of :data:`ONE_WORKER_MODULES`
    is one unit.

    A browser module starts a Streamlit server (and builds its data) for its tests; spread over two
    workers it would start twice. xdist's own `loadgroup` cannot do this here: it renames items by
    a node attribute that this pytest no longer reads.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.startswith(ONE_WORKER_MODULES) else nodeid

    return ModulesTogether(config, log)


_RETRIES: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep why each retried test failed its earlier try (pytest-rerunfailures reports it as "rerun")."""
    if report.outcome == "rerun":
        failure = [line for line in str(report.longrepr).splitlines() if line.startswith("E ")]
        _RETRIES.append((report.nodeid, "\n".join(failure[:30]) or str(report.longrepr)[-600:]))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say why each retry happened: a retry that passed still hides a slow page or a defect."""
    if _RETRIES:
        terminalreporter.section("why tests were retried")
        for nodeid, failure in _RETRIES:
            terminalreporter.write_line(f"{nodeid}\n{failure}")


# --- generated orgs (owned by the org generator; built once per test run, shared by xdist workers) ---

ORG_TEST_SEED = 7


def shared_file(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """A file that `build(path)` writes once per test run (treat it as read-only).

    Every xdist worker of the run asks for it by `name`; the first builds it under a file lock into
    a folder the workers share, the others wait and read the same file.
    """
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-orgs"
    shared.mkdir(exist_ok=True)
    path = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        if not path.exists():
            building = shared / f"building-{name}"
            building.unlink(missing_ok=True)
            build(building)
            building.rename(path)
    return path


def shared_sqlite_org(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[str], object]) -> str:
    """The URL of a SQLite org that `build(url)` makes once per test run (see :func:`shared_file`)."""
    path = shared_file(tmp_path_factory, f"{name}.db", lambda building: build(f"sqlite:///{building}"))
    return f"sqlite:///{path}"


def generated(scale: str, seed: int = ORG_TEST_SEED, **options: Any) -> Callable[[str], object]:
    """A builder for :func:`shared_sqlite_org`: the generator's org at `scale`."""
    from crm_core.org.generator import generate_org

    return lambda url: generate_org(url, scale=scale, seed=seed, **options)


@pytest.fixture(scope="session")
def tiny_org_url(tmp_path_factory) -> str:
    """A SQLite org at scale `tiny`, seed 7 (treat it as read-only)."""
    return shared_sqlite_org(tmp_path_factory, "tiny", generated("tiny"))


@pytest.fixture(scope="session")
def default_org_url(tmp_path_factory) -> str:
    """A SQLite org at scale `default`, seed 7 (treat it as read-only)."""
    return shared_sqlite_org(tmp_path_factory, "default", generated("default"))


@pytest.fixture(scope="session")
def tiny_org_pg_url() -> Iterator[str]:
    """A PostgreSQL org at scale `tiny`, seed 7, in a fresh database (treat it as read-only)."""
    from crm_core.org.generator import generate_org

    url = create_pg_database("crm_tiny_org")
    try:
        generate_org(url, scale="tiny", seed=ORG_TEST_SEED)
        yield url
    finally:
        drop_pg_database(url)
