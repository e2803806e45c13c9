"""Task Workbench: an expert's session on one task instance (steps, answer, timing, side).

Revision ID: 0005_workbench
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_workbench"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workbench_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("instance_idx", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(40), nullable=False),
        sa.Column("persona", sa.String(20), nullable=False),
        sa.Column("study_id", sa.String(64), nullable=True),
        sa.Column("agent_side", sa.String(5), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("reward_normalized", sa.Float(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("submission_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_users.id"], name="fk_workbench_sessions_user_id_app_users"),
        sa.PrimaryKeyConstraint("id", name="pk_workbench_sessions"),
        sa.UniqueConstraint("user_id", "instance_idx", name="uq_workbench_sessions_user_id_instance_idx"),
        sa.UniqueConstraint("submission_id", name="uq_workbench_sessions_submission_id"),
    )
    op.create_index("ix_workbench_sessions_instance_idx", "workbench_sessions", ["instance_idx"])


def downgrade() -> None:
    op.drop_index("ix_workbench_sessions_instance_idx", table_name="workbench_sessions")
    op.drop_table("workbench_sessions")
