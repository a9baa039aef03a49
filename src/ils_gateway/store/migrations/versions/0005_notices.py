"""Issue 18: job run records, notice preferences, the notice ledger (call list), poll cursors.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("name", "tenant_id", name="pk_job_runs"),
    )
    op.create_table(
        "notice_preferences",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("due_reminder_days", sa.Integer(), nullable=True),
        sa.Column("overdue_notice", sa.Boolean(), nullable=False),
        sa.Column("child_entry_mail", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", name="pk_notice_preferences"),
    )
    op.create_table(
        "notice_ledger",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("done_at", TS, nullable=True),
        sa.Column("done_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice_ledger"),
        sa.UniqueConstraint("tenant_id", "dedup_key", name="uq_notice_ledger_dedup"),
    )
    op.create_index("ix_notice_ledger_calls", "notice_ledger", ["tenant_id", "channel", "done_at"])
    op.create_table(
        "notice_cursors",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "job", name="pk_notice_cursors"),
    )


def downgrade() -> None:
    op.drop_table("notice_cursors")
    op.drop_index("ix_notice_ledger_calls", table_name="notice_ledger")
    op.drop_table("notice_ledger")
    op.drop_table("notice_preferences")
    op.drop_table("job_runs")
