"""The studio of the AppTests: users, a mini study and the app store, made through the library.

A module of its own (not conftest) so that tests import it by a name no other test folder uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from crm_core.store import open_app_store
from crm_core.studies import load_definition, parse_study
from crm_core.users import add_user

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


def make_studio(folder: Path, org_url: str, *, with_study: bool = True, app_url: str | None = None) -> Studio:
    """Create the app store (SQLite in `folder` unless `app_url`) with :data:`USERS` and the mini study."""
    app_url = app_url or f"sqlite:///{folder / 'app.db'}"
    studio = Studio(org_url=org_url, app_url=app_url, secrets_file=folder / "secrets.toml")
    with studio.session() as session:
        for username, role in USERS.items():
            add_user(session, username, role, PASSWORD)
        if with_study:
            load_definition(session, parse_study(STUDY_YAML, "mini.yaml"), org_url)
    return studio
