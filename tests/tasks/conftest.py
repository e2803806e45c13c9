"""Fixtures of the task tests: a hand-built org per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from handorg import HandOrg


@pytest.fixture
def org(sqlite_url: str) -> Iterator[HandOrg]:
    """An empty org (schema and latent tables) to fill by hand."""
    built = HandOrg(sqlite_url)
    yield built
    built.engine.dispose()
