"""Drafts (autosave, resumable anywhere) and the time a rater spent on an item.

Existing responses keep every value; their ``time_on_item_seconds`` is unknown (NULL).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], name="fk_drafts_study_id_studies"),
        sa.ForeignKeyConstraint(["item_id"], ["study_items.id"], name="fk_drafts_item_id_study_items"),
        sa.ForeignKeyConstraint(["user_id"], ["app_users.id"], name="fk_drafts_user_id_app_users"),
        sa.PrimaryKeyConstraint("id", name="pk_drafts"),
        sa.UniqueConstraint("item_id", "user_id", name="uq_drafts_item_id_user_id"),
    )
    op.create_index("ix_drafts_study_id", "drafts", ["study_id"])
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("time_on_item_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("time_on_item_seconds")
    op.drop_index("ix_drafts_study_id", table_name="drafts")
    op.drop_table("drafts")
