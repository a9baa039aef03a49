"""Initial store schema: basket, hold sequences, cancelled holds, shelves, settings,
idempotency keys, encrypted reading history.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision (never import schema.py here).
TS = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _owner() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patron_key", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "basket_items",
        *_owner(),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "patron_key", "source", "item_id", name="pk_basket_items"
        ),
    )
    op.create_table(
        "hold_sequences",
        sa.Column("sequence_id", sa.String(32), nullable=False),
        *_owner(),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("sequence_id", name="pk_hold_sequences"),
    )
    op.create_index("ix_hold_sequences_owner", "hold_sequences", ["tenant_id", "patron_key"])
    op.create_table(
        "hold_sequence_members",
        sa.Column("sequence_id", sa.String(32), nullable=False),
        *_owner(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.String(128), nullable=False),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("sequence_id", "position", name="pk_hold_sequence_members"),
        sa.UniqueConstraint(
            "tenant_id", "patron_key", "hold_id", name="uq_hold_sequence_members_hold"
        ),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["hold_sequences.sequence_id"],
            name="fk_hold_sequence_members_sequence_id_hold_sequences",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "cancelled_holds",
        *_owner(),
        sa.Column("hold_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", "hold_id", name="pk_cancelled_holds"),
    )
    op.create_index("ix_cancelled_holds_tenant_at", "cancelled_holds", ["tenant_id", "at"])
    op.create_table(
        "shelves",
        sa.Column("shelf_id", sa.String(32), nullable=False),
        *_owner(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("shelf_id", name="pk_shelves"),
    )
    op.create_index("ix_shelves_owner", "shelves", ["tenant_id", "patron_key"])
    op.create_table(
        "shelf_items",
        sa.Column("shelf_id", sa.String(32), nullable=False),
        *_owner(),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("added_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("shelf_id", "item_id", name="pk_shelf_items"),
        sa.ForeignKeyConstraint(
            ["shelf_id"],
            ["shelves.shelf_id"],
            name="fk_shelf_items_shelf_id_shelves",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "patron_settings",
        *_owner(),
        sa.Column("email1", sa.String(254), nullable=True),
        sa.Column("email1_kind", sa.String(8), nullable=True),
        sa.Column("email2", sa.String(254), nullable=True),
        sa.Column("email2_kind", sa.String(8), nullable=True),
        sa.Column("hold_notice_to", sa.String(8), nullable=True),
        sa.Column("default_pickup_library", sa.String(128), nullable=True),
        sa.Column("hold_contact_method", sa.String(8), nullable=True),
        sa.Column("due_date_reminder", sa.Boolean(), nullable=False),
        sa.Column("reading_history_enabled", sa.Boolean(), nullable=False),
        sa.Column("reading_history_since", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", name="pk_patron_settings"),
    )
    op.create_table(
        "idempotency_keys",
        *_owner(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    op.create_table(
        "reading_history_keys",
        *_owner(),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_private_key", sa.LargeBinary(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("opslimit", sa.BigInteger(), nullable=False),
        sa.Column("memlimit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "patron_key", name="pk_reading_history_keys"),
    )
    op.create_table(
        "reading_history_entries",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        *_owner(),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("dedupe_tag", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reading_history_entries"),
        sa.UniqueConstraint("entry_id", name="uq_reading_history_entries_entry_id"),
        sa.UniqueConstraint(
            "tenant_id", "patron_key", "dedupe_tag", name="uq_reading_history_entries_dedupe"
        ),
    )


def downgrade() -> None:
    for table in (
        "reading_history_entries",
        "reading_history_keys",
        "idempotency_keys",
        "patron_settings",
        "shelf_items",
        "shelves",
        "cancelled_holds",
        "hold_sequence_members",
        "hold_sequences",
        "basket_items",
    ):
        op.drop_table(table)
