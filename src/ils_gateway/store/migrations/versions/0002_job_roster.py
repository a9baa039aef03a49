"""Shared job roster (patrons the periodic jobs visit, sealed) and job leases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_roster",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("enrolled_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", name="pk_job_roster"),
    )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_job_leases"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_table("job_roster")
