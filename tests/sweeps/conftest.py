"""Fixtures of the sweep tests: a tiny org with its task set."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_tasks_org(tmp_path_factory) -> str:
    """A tiny SQLite org (seed 7) with its task set stored in it (treat it as read-only)."""
    from crm_core.org.generator import generate_org
    from crm_core.tasks.build import build_tasks

    url = f"sqlite:///{tmp_path_factory.mktemp('sweep_org') / 'org.db'}"
    generate_org(url, scale="tiny", seed=7)
    build_tasks(url, per_task=6)
    return url
