"""Issue 19: OR-holds (いずれか予約) — holds on several records of which one is wanted, kept by
the gateway until one is filled.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copy of the column type as it was at this revision (never import schema.py here).
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "or_hold_members",
        sa.Column("group_id", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("hold_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("pickup_library", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "position", name="pk_or_hold_members"),
        sa.UniqueConstraint("tenant_id", "patron_key", "hold_id", name="uq_or_hold_members_hold"),
    )
    op.create_index("ix_or_hold_members_owner", "or_hold_members", ["tenant_id", "patron_key"])


def downgrade() -> None:
    op.drop_index("ix_or_hold_members_owner", table_name="or_hold_members")
    op.drop_table("or_hold_members")
