"""The run tables: their migration matches the models, on SQLite and PostgreSQL, with one head."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from crm_core.store import AppBase, open_app_store
from crm_core.store.engine import alembic_config
from crm_core.store.models import AgentEpisode, AgentRun

RUN_TABLES = {AgentRun.__tablename__, AgentEpisode.__tablename__}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    return request.getfixturevalue("app_db_url" if request.param == "sqlite" else "app_db_pg_url")


def _touches_run_tables(diff: object) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", part)
            if getattr(table, "name", None) in RUN_TABLES or part in RUN_TABLES:
                return True
    return False


def test_migration_matches_the_run_models(store_url):
    engine = open_app_store(store_url).kw["bind"]
    assert set(inspect(engine).get_table_names()) >= RUN_TABLES
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), AppBase.metadata)
    assert [d for d in diffs if _touches_run_tables(d)] == []
    uniques = inspect(engine).get_unique_constraints("agent_episodes")
    assert [u["column_names"] for u in uniques] == [["run_id", "instance_idx", "trial"]]
    engine.dispose()


def test_single_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
