"""Issue 18, account lifecycle: single-use link tokens (hash only, payload sealed under the
token) and what the gateway keeps of an account the library system cannot (SIP2 passwords,
phone numbers).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_account_tokens"),
    )
    op.create_index(
        "ix_account_tokens_owner", "account_tokens", ["tenant_id", "patron_key", "purpose"]
    )
    op.create_table(
        "account_profiles",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", name="pk_account_profiles"),
    )


def downgrade() -> None:
    op.drop_table("account_profiles")
    op.drop_index("ix_account_tokens_owner", table_name="account_tokens")
    op.drop_table("account_tokens")
