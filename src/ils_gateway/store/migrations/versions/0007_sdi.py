"""Issue 18: new-arrival alerts (SDI, 新着図書お知らせ): each patron's saved conditions and,
per tenant, where the next run starts.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen copy of the column type as it was at this revision (never import schema.py here).
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sdi_conditions",
        sa.Column("condition_id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("title_words", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("material_type", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("condition_id", name="pk_sdi_conditions"),
    )
    op.create_index("ix_sdi_conditions_owner", "sdi_conditions", ["tenant_id", "patron_key"])
    op.create_table(
        "sdi_runs",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_sdi_runs"),
    )


def downgrade() -> None:
    op.drop_table("sdi_runs")
    op.drop_index("ix_sdi_conditions_owner", table_name="sdi_conditions")
    op.drop_table("sdi_conditions")
