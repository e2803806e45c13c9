"""Fixtures of the studio tests: a hand-made org (values known by construction)."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from handmade_org import build_handmade_org
from studio_setup import Studio, make_studio


@pytest.fixture(scope="session", autouse=True)
def _components_scanned_once() -> Iterator[None]:
    """Scan the installed distributions for Streamlit components once per session, not per AppTest.

    Every new AppTest reads the metadata of every installed distribution (about 0.14 s of CPU
    here, a third of this folder's time); nothing is installed during a run, so the first scan's
    answer stays right."""
    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as patch:
        scan = functools.cache(manifest_scanner.scan_component_manifests)
        patch.setattr(manifest_scanner, "scan_component_manifests", scan)
        yield


@pytest.fixture(scope="session")
def handmade_org_url(tmp_path_factory) -> str:
    """A SQLite org with the records of :mod:`tests.app.handmade_org`."""
    url = f"sqlite:///{tmp_path_factory.mktemp('handmade') / 'org.db'}"
    build_handmade_org(url)
    return url


@pytest.fixture(scope="session")
def studio_template(tmp_path_factory, handmade_org_url) -> Studio:
    """The studio made once (bcrypt is slow on purpose); tests get copies of its app store."""
    return make_studio(tmp_path_factory.mktemp("studio"), handmade_org_url)


@pytest.fixture
def studio(tmp_path, studio_template, monkeypatch) -> Studio:
    """A fresh copy of the template studio, with the environment pointing at it."""
    shutil.copy(Path(studio_template.app_url.removeprefix("sqlite:///")), tmp_path / "app.db")
    made = Studio(
        org_url=studio_template.org_url, app_url=f"sqlite:///{tmp_path / 'app.db'}", secrets_file=tmp_path / "s.toml"
    )
    for key, value in made.env().items():
        monkeypatch.setenv(key, value)
    return made
