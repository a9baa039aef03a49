"""Issue 16: loans out when reading history was switched on (never recorded while still out);
who cancelled a hold in the cancelled-hold history (the patron or the library).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cancelled_holds", sa.Column("cancelled_by", sa.String(16), nullable=True))
    op.create_table(
        "reading_history_preexisting",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "patron_key", "tag", name="pk_reading_history_preexisting"
        ),
    )


def downgrade() -> None:
    op.drop_table("reading_history_preexisting")
    op.drop_column("cancelled_holds", "cancelled_by")
