"""Fixtures of the write tests: sandboxes over the tiny org (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from crm_core.sandbox import Sandbox, make_sandbox_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def org_url(request) -> str:
    """The tiny org on each database (session-generated, never written)."""
    fixture = "tiny_org_url" if request.param == "sqlite" else "tiny_org_pg_url"
    return request.getfixturevalue(fixture)


@pytest.fixture
def sandbox_engine(org_url: str) -> Iterator[Engine]:
    engine = make_sandbox_engine(org_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sandbox(sandbox_engine: Engine) -> Iterator[Sandbox]:
    with Sandbox(sandbox_engine) as box:
        yield box
