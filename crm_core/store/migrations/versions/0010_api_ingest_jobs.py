"""REST API: Bulk API 2.0 ingest jobs (settings, uploaded CSV, state, result files).

Revision ID: 0010_api_ingest_jobs
Revises: 0009_workbench_state
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_api_ingest_jobs"
down_revision = "0009_workbench_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_ingest_jobs",
        sa.Column("id", sa.String(18), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("object", sa.String(80), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("external_id_field", sa.String(80), nullable=True),
        sa.Column("column_delimiter", sa.String(16), nullable=False),
        sa.Column("line_ending", sa.String(8), nullable=False),
        sa.Column("api_version", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("successful", sa.Text(), nullable=True),
        sa.Column("failed", sa.Text(), nullable=True),
        sa.Column("unprocessed", sa.Text(), nullable=True),
        sa.Column("records_processed", sa.Integer(), nullable=False),
        sa.Column("records_failed", sa.Integer(), nullable=False),
        sa.Column("processing_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_users.id"], name="fk_api_ingest_jobs_user_id_app_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_ingest_jobs"),
    )
    op.create_index("ix_api_ingest_jobs_user_id", "api_ingest_jobs", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_ingest_jobs_user_id", table_name="api_ingest_jobs")
    op.drop_table("api_ingest_jobs")
