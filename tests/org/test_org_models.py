"""The SQLAlchemy models read a generated org back, on SQLite and on PostgreSQL, with typed values."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db import make_readonly_engine
from crm_core.org.schema import OBJECT_MODELS, Case, CaseHistory, LatentAgent, Order


def read_back(url: str) -> None:
    engine = make_readonly_engine(url)
    try:
        with Session(engine) as session:
            for model in OBJECT_MODELS:
                records = session.scalars(select(model).order_by(model.Id).limit(3)).all()
                assert records, model.__tablename__
                for record in records:
                    assert isinstance(record.Id, str) and len(record.Id) == 18
                    assert isinstance(record.CreatedDate, dt.datetime)
                    assert record.CreatedDate.tzinfo is None
            order = session.scalars(select(Order).limit(1)).one()
            assert isinstance(order.EffectiveDate, dt.date) and not isinstance(order.EffectiveDate, dt.datetime)
            closed = session.scalars(select(Case).where(Case.Status == "Closed").limit(1)).one()
            assert isinstance(closed.ClosedDate, dt.datetime) and closed.ClosedDate >= closed.CreatedDate
            assert closed.CreatedDate.microsecond == 0
            history = session.scalars(select(CaseHistory).where(CaseHistory.CaseId__c == closed.Id)).all()
            assert {h.Field__c for h in history} >= {"Case Creation", "Owner Assignment", "Case Closed"}
            skills = session.scalars(select(LatentAgent.skill)).all()
            assert all(isinstance(s, float) for s in skills)
    finally:
        engine.dispose()


def test_models_read_the_sqlite_org(tiny_org_url: str) -> None:
    read_back(tiny_org_url)


@pytest.mark.postgres
def test_models_read_the_postgresql_org(tiny_org_pg_url: str) -> None:
    read_back(tiny_org_pg_url)


@pytest.mark.postgres
def test_postgresql_org_has_every_foreign_key(tiny_org_pg_url: str) -> None:
    from sqlalchemy import text

    from crm_core.org.schema import Base

    declared = sum(len(t.foreign_key_constraints) for t in Base.metadata.tables.values())
    engine = make_readonly_engine(tiny_org_pg_url)
    with engine.connect() as conn:
        present = conn.execute(
            text("SELECT COUNT(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY'")
        ).scalar_one()
    engine.dispose()
    assert declared > 15
    assert present == declared
