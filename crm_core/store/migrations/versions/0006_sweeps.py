"""Sweeps: sweeps, their runs, the queue state of each episode, provider pacing; on PostgreSQL
also the job queue's own schema (Procrastinate 3.10).

Revision ID: 0006_sweeps
Revises: 0005_workbench
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sweeps"
down_revision = "0005_workbench"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("sweep_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("org_url", sa.Text(), nullable=False),
        sa.Column("backend", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("stop_reason", sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint("sweep_id", name="pk_sweeps"),
    )
    op.create_table(
        "sweep_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("sweep_id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(60), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["agent_runs.run_id"], name="fk_sweep_runs_run_id_agent_runs"),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.sweep_id"], name="fk_sweep_runs_sweep_id_sweeps"),
        sa.PrimaryKeyConstraint("run_id", name="pk_sweep_runs"),
    )
    op.create_index("ix_sweep_runs_sweep_id", "sweep_runs", ["sweep_id"])
    op.create_table(
        "sweep_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sweep_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("instance_idx", sa.Integer(), nullable=False),
        sa.Column("trial", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(120), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["agent_runs.run_id"], name="fk_sweep_episodes_run_id_agent_runs"),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.sweep_id"], name="fk_sweep_episodes_sweep_id_sweeps"),
        sa.PrimaryKeyConstraint("id", name="pk_sweep_episodes"),
        sa.UniqueConstraint("run_id", "instance_idx", "trial", name="uq_sweep_episodes_run_id_instance_idx_trial"),
    )
    op.create_index("ix_sweep_episodes_sweep_id_state", "sweep_episodes", ["sweep_id", "state"])
    op.create_table(
        "provider_pace",
        sa.Column("provider", sa.String(60), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("provider", name="pk_provider_pace"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # the driver's own cursor: the schema's text is not a SQLAlchemy statement (':' and '%')
        bind.connection.dbapi_connection.cursor().execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.drop_table("provider_pace")
    op.drop_index("ix_sweep_episodes_sweep_id_state", table_name="sweep_episodes")
    op.drop_table("sweep_episodes")
    op.drop_index("ix_sweep_runs_sweep_id", table_name="sweep_runs")
    op.drop_table("sweep_runs")
    op.drop_table("sweeps")
