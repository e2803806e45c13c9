"""Task Workbench on workflow tasks: the changes an expert's sandbox held when they submitted.

Revision ID: 0009_workbench_state
Revises: 0008_sweep_org_variants
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_workbench_state"
down_revision = "0008_sweep_org_variants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workbench_sessions") as batch:
        batch.add_column(sa.Column("state_diff", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workbench_sessions") as batch:
        batch.drop_column("state_diff")
