"""Sweep org variants: each sweep run keeps its org and the label of its org variant.

Revision ID: 0008_sweep_org_variants
Revises: 0007_not_applicable
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_sweep_org_variants"
down_revision = "0007_not_applicable"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sweep_runs") as batch:
        batch.add_column(sa.Column("org_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sweep_runs") as batch:
        batch.drop_column("variant")
        batch.drop_column("org_url")
