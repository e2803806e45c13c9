"""Ratings may be "Not applicable": ``ratings.value`` becomes nullable (the label says so).

Existing ratings keep their values.

Revision ID: 0007_not_applicable
Revises: 0006_sweeps
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_not_applicable"
down_revision = "0006_sweeps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.alter_column("value", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    kept = op.get_bind().scalar(sa.text("SELECT COUNT(*) FROM ratings WHERE value IS NULL"))
    if kept:  # responses are never changed: refuse rather than drop answers
        raise RuntimeError(f"{kept} 'Not applicable' ratings have no value to keep: cannot downgrade below 0007")
    with op.batch_alter_table("ratings") as batch:
        batch.alter_column("value", existing_type=sa.Integer(), nullable=False)
