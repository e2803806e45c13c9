"""Fixtures of the studio tests: a hand-made org (values known by construction)."""

from __future__ import annotations

import pytest
from handmade_org import build_handmade_org


@pytest.fixture(scope="session")
def handmade_org_url(tmp_path_factory) -> str:
    """A SQLite org with the records of :mod:`tests.app.handmade_org`."""
    url = f"sqlite:///{tmp_path_factory.mktemp('handmade') / 'org.db'}"
    build_handmade_org(url)
    return url
