"""Fixtures of the tool tests: a hand-built org (shared builder from tests/tasks) and a tool runner."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tasks"))

from handorg import HandOrg  # noqa: E402

from crm_core.db import make_readonly_engine  # noqa: E402
from crm_core.tools import TOOLS, ToolContext  # noqa: E402

TODAY = dt.date(2024, 6, 1)


@pytest.fixture
def org(sqlite_url: str) -> Iterator[HandOrg]:
    built = HandOrg(sqlite_url)
    yield built
    built.engine.dispose()


def _runner(url: str) -> Iterator[Callable[..., str]]:
    engine = make_readonly_engine(url)
    with engine.connect() as conn:
        ctx = ToolContext(conn, TODAY)

        def call(name: str, **arguments: Any) -> str:
            return TOOLS[name].run(ctx, arguments)

        yield call
    engine.dispose()


@pytest.fixture
def run(org: HandOrg) -> Iterator[Callable[..., str]]:
    """`run(tool_name, **arguments)` -> observation string, on a read-only connection."""
    yield from _runner(org.url)


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Like `run`, on one small org shared by a module's tests (which must not change it)."""
    built = HandOrg(f"sqlite:///{tmp_path_factory.mktemp('tools') / 'org.db'}")
    built.agent()
    built.engine.dispose()
    yield from _runner(built.url)
