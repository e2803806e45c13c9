"""Alembic environment of the app store; run programmatically by crm_core.store.engine.upgrade."""

from __future__ import annotations

from alembic import context

from crm_core.store.models import AppBase

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("run migrations through crm_core.store.engine.upgrade()")

context.configure(
    connection=connection,
    target_metadata=AppBase.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
