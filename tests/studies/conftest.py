"""Fixtures for study tests: a small org of record ids built by construction, stores, studies."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from studyfiles import RECORDS_PER_OBJECT, study_yaml

from crm_core.org.ids import make_id
from crm_core.store import Study, open_app_store
from crm_core.studies import load_definition, parse_study
from crm_core.users import add_user


@pytest.fixture(scope="session")
def id_org(tmp_path_factory) -> tuple[str, dict[str, list[str]]]:
    """A SQLite org whose 16 tables hold only ``Id`` (sampling needs nothing else) and its ids."""
    path = tmp_path_factory.mktemp("org") / "org.db"
    engine = create_engine(f"sqlite:///{path}")
    ids: dict[str, list[str]] = {}
    with engine.begin() as conn:
        for name, count in RECORDS_PER_OBJECT.items():
            conn.execute(text(f'CREATE TABLE "{name}" ("Id" VARCHAR(18) PRIMARY KEY)'))
            ids[name] = [make_id(name, seq) for seq in range(1, count + 1)]
            conn.execute(text(f'INSERT INTO "{name}" ("Id") VALUES (:id)'), [{"id": i} for i in ids[name]])
    engine.dispose()
    return f"sqlite:///{path}", ids


@pytest.fixture
def sessions(app_db_url) -> Iterator[sessionmaker[Session]]:
    """A fresh, migrated SQLite app store."""
    factory = open_app_store(app_db_url)
    yield factory
    factory.kw["bind"].dispose()


@pytest.fixture
def make_study(sessions, id_org) -> Callable[..., Study]:
    """Load a study made by :func:`study_yaml` into the store."""

    def make(**kwargs: object) -> Study:
        with sessions() as session:
            return load_definition(session, parse_study(study_yaml(**kwargs)), id_org[0])  # type: ignore[arg-type]

    return make


@pytest.fixture
def make_users(sessions) -> Callable[[int], list[str]]:
    """Create experts ``expert00``, ``expert01``, ... and return their usernames."""

    def make(count: int, prefix: str = "expert") -> list[str]:
        names = []
        with sessions() as session:
            for i in range(count):
                user, _ = add_user(session, f"{prefix}{i:02d}", "expert", "password-123")
                names.append(user.username)
        return names

    return make
