"""Fixtures of the sweep tests: a tiny org with its task set."""

from __future__ import annotations

import pytest

from tests.conftest import generated, shared_sqlite_org


@pytest.fixture(scope="session")
def tiny_tasks_org(tmp_path_factory) -> str:
    """A tiny SQLite org (seed 7) with its task set stored in it (treat it as read-only)."""
    from crm_core.tasks.build import build_tasks

    def build(url: str) -> None:
        generated("tiny")(url)
        build_tasks(url, per_task=6)

    return shared_sqlite_org(tmp_path_factory, "tiny-with-tasks", build)
