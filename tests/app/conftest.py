"""Fixtures of the studio tests: a hand-made org (values known by construction)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from handmade_org import build_handmade_org
from sqlalchemy.orm import Session

from crm_core.store import open_app_store
from crm_core.studies import load_definition, parse_study
from crm_core.users import add_user


@pytest.fixture(scope="session")
def handmade_org_url(tmp_path_factory) -> str:
    """A SQLite org with the records of :mod:`tests.app.handmade_org`."""
    url = f"sqlite:///{tmp_path_factory.mktemp('handmade') / 'org.db'}"
    build_handmade_org(url)
    return url


STUDY_YAML = """
id: mini
title: Mini realism study
instructions: Rate each case.
scale: [Very unrealistic, Unrealistic, Neutral, Realistic, Very realistic]
dimensions:
  - id: data_realism
    question: Do the field values look real?
    applies_to: [record, org]
    comment_required_at_or_below: 2
  - id: overall
    question: Overall, how realistic is this?
    comment_required_at_or_below: 2
items:
  - kind: records
    objects: [Case]
    per_object: 3
  - kind: org
ratings_per_item: 2
randomize_order: false
"""
"""A small study over the hand-made org: 3 Case records and the org, 2 dimensions each."""

USERS = {"erin": "expert", "ethan": "expert", "rita": "researcher", "adam": "admin"}
PASSWORD = "correct-horse-9"


@dataclass
class Studio:
    """A studio installation in a temporary folder: org, app store, secrets, users and a study."""

    org_url: str
    app_url: str
    secrets_file: Path

    def env(self) -> dict[str, str]:
        return {"CRM_ORG_DB": self.org_url, "CRM_APP_DB": self.app_url, "CRM_SECRETS_FILE": str(self.secrets_file)}

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the app store; its engine is disposed afterwards (SQLite checkpoints the WAL)."""
        sessions = open_app_store(self.app_url)
        try:
            with sessions() as session:
                yield session
        finally:
            sessions.kw["bind"].dispose()


def make_studio(folder: Path, org_url: str, *, with_study: bool = True) -> Studio:
    """Create the app store with the users of :data:`USERS` (and the mini study) for `org_url`."""
    studio = Studio(org_url=org_url, app_url=f"sqlite:///{folder / 'app.db'}", secrets_file=folder / "secrets.toml")
    with studio.session() as session:
        for username, role in USERS.items():
            add_user(session, username, role, PASSWORD)
        if with_study:
            load_definition(session, parse_study(STUDY_YAML, "mini.yaml"), org_url)
    return studio


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
