"""Fixtures of the agent tests: a small org whose answers are known by construction, instances
asking about it, app stores, and scripted model policies for the local OpenAI-protocol server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db import make_engine
from crm_core.org import schema as s
from crm_core.org.ids import make_id
from crm_core.store.engine import open_app_store
from crm_core.tasks.records import TaskInstance, TaskMetadata, save_tasks

T0 = dt.datetime(2024, 3, 1, 12, 0)
_FILLER: dict[type, Any] = {str: "x", bool: True, float: 1.0, int: 1, dt.date: T0.date(), dt.datetime: T0}
CONTACTS = 12


def _row(model: type[s.Base], seq: int, **values: Any) -> dict[str, Any]:
    values = {"Id": make_id(model.__tablename__, seq), "CreatedDate": T0, **values}
    for column in model.__table__.columns:
        if not column.nullable and column.name not in values:
            values[column.name] = _FILLER[column.type.python_type]
    return values


def build_contact_org(path: Path) -> tuple[str, dict[str, str]]:
    """A SQLite org with one agent and `CONTACTS` customers; returns (url, contact id -> account id)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    s.Base.metadata.create_all(engine)
    s.LatentBase.metadata.create_all(engine)
    owner = _row(s.User, 0, Name="Ada Agent", FirstName="Ada", LastName="Agent", Username="ada@x.test")
    accounts, contacts = [], []
    for n in range(CONTACTS):
        accounts.append(_row(s.Account, n, Name=f"Customer {n}", LastName=str(n), ShippingState="CA"))
        contacts.append(
            _row(s.Contact, n, Name=f"Customer {n}", LastName=str(n), AccountId=accounts[-1]["Id"], OwnerId=owner["Id"])
        )
    with engine.begin() as conn:
        conn.execute(insert(s.User), [owner])
        conn.execute(insert(s.Account), accounts)
        conn.execute(insert(s.Contact), contacts)
    engine.dispose()
    return url, {c["Id"]: c["AccountId"] for c in contacts}


def contact_instances(accounts_by_contact: dict[str, str]) -> list[TaskInstance]:
    """One instance per contact, alternating two tasks of two personas; the answer is the account id."""
    instances = []
    for idx, (contact, account) in enumerate(sorted(accounts_by_contact.items())):
        task, persona = ("named_entity_disambiguation", "service_agent") if idx % 2 else ("handle_time", "manager")
        instances.append(
            TaskInstance(
                idx=idx,
                task=task,
                persona=persona,
                query=f"Which account does contact {contact} belong to?",
                answer=account,
                metadata=TaskMetadata(required="Answer with the account id only."),
                reward_metric="exact_match",
            )
        )
    return instances


@pytest.fixture(scope="session")
def contact_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """(org URL, contact id -> account id) of a small org shared by the session (read-only use)."""
    return build_contact_org(tmp_path_factory.mktemp("agents_org") / "org.db")


@pytest.fixture(scope="session")
def instances(contact_org: tuple[str, dict[str, str]]) -> list[TaskInstance]:
    return contact_instances(contact_org[1])


@pytest.fixture
def task_file(tmp_path: Path, instances: list[TaskInstance]) -> Path:
    return save_tasks(instances, tmp_path / "tasks.jsonl")


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite app store in the test's folder."""
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    yield store
    store.kw["bind"].dispose()
