"""Tables of the gateway store (SQLAlchemy Core).

Every table carries ``tenant_id`` and ``patron_key`` (an HMAC of the card number, see
``patron_keys``): nothing is looked up by anything less, so nothing crosses tenants or
patrons. The migrations in ``migrations/versions`` create exactly these tables; a test
compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases (SQLite keeps no offset itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

TENANT = 64
PATRON_KEY = 64  # hex of HMAC-SHA256
ID = 128  # ids from the ILS or e-library (item, hold)


def _owner() -> list[Column[Any]]:
    return [
        Column("tenant_id", String(TENANT), nullable=False),
        Column("patron_key", String(PATRON_KEY), nullable=False),
    ]


basket_items = Table(
    "basket_items",
    metadata,
    *_owner(),
    Column("source", String(32), nullable=False),
    Column("item_id", String(ID), nullable=False),
    Column("title", Text, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key", "source", "item_id"),
)

hold_sequences = Table(
    "hold_sequences",
    metadata,
    Column("sequence_id", String(32), primary_key=True),
    *_owner(),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_hold_sequences_owner", "tenant_id", "patron_key"),
)

hold_sequence_members = Table(
    "hold_sequence_members",
    metadata,
    Column("sequence_id", String(32), nullable=False),
    *_owner(),
    Column("position", Integer, nullable=False),
    Column("hold_id", String(ID), nullable=False),
    Column("item_id", String(ID), nullable=False),
    PrimaryKeyConstraint("sequence_id", "position"),
    # A hold belongs to one sequence at most.
    UniqueConstraint("tenant_id", "patron_key", "hold_id", name="uq_hold_sequence_members_hold"),
    ForeignKeyConstraint(["sequence_id"], ["hold_sequences.sequence_id"], ondelete="CASCADE"),
)

# OR-holds (いずれか予約): holds on several records, one wanted; the others are cancelled when
# one is filled. A group is its members (no other row): it goes when they do.
or_hold_members = Table(
    "or_hold_members",
    metadata,
    Column("group_id", String(32), nullable=False),
    *_owner(),
    Column("position", Integer, nullable=False),
    Column("record_id", String(ID), nullable=False),
    Column("hold_id", String(ID), nullable=False),
    # The title, to know the hold again once a SIP2 ACS lists it under the copy set aside.
    Column("title", Text, nullable=True),
    Column("pickup_library", String(ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("group_id", "position"),
    UniqueConstraint("tenant_id", "patron_key", "hold_id", name="uq_or_hold_members_hold"),
    Index("ix_or_hold_members_owner", "tenant_id", "patron_key"),
)

cancelled_holds = Table(
    "cancelled_holds",
    metadata,
    *_owner(),
    Column("hold_id", String(ID), nullable=False),
    Column("title", Text, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("cancelled_by", String(16), nullable=True),
    PrimaryKeyConstraint("tenant_id", "patron_key", "hold_id"),
    Index("ix_cancelled_holds_tenant_at", "tenant_id", "at"),
)

shelves = Table(
    "shelves",
    metadata,
    Column("shelf_id", String(32), primary_key=True),
    *_owner(),
    Column("name", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seq", Integer, nullable=False),
    Index("ix_shelves_owner", "tenant_id", "patron_key"),
)

shelf_items = Table(
    "shelf_items",
    metadata,
    Column("shelf_id", String(32), nullable=False),
    *_owner(),
    Column("item_id", String(ID), nullable=False),
    Column("title", Text, nullable=False),
    Column("rating", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("added_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("shelf_id", "item_id"),
    ForeignKeyConstraint(["shelf_id"], ["shelves.shelf_id"], ondelete="CASCADE"),
)

patron_settings = Table(
    "patron_settings",
    metadata,
    *_owner(),
    Column("email1", String(254), nullable=True),
    Column("email1_kind", String(8), nullable=True),
    Column("email2", String(254), nullable=True),
    Column("email2_kind", String(8), nullable=True),
    Column("hold_notice_to", String(8), nullable=True),
    Column("default_pickup_library", String(ID), nullable=True),
    Column("hold_contact_method", String(8), nullable=True),
    Column("due_date_reminder", Boolean, nullable=False),
    Column("reading_history_enabled", Boolean, nullable=False),
    Column("reading_history_since", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    *_owner(),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("status", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key", "key"),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# Reading history: nothing here is readable without the patron's password (see reading_history).
reading_history_keys = Table(
    "reading_history_keys",
    metadata,
    *_owner(),
    Column("generation", Integer, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("wrapped_private_key", LargeBinary, nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("opslimit", BigInteger, nullable=False),
    Column("memlimit", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key"),
)

reading_history_entries = Table(
    "reading_history_entries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("entry_id", String(32), nullable=False, unique=True),
    *_owner(),
    Column("generation", Integer, nullable=False),
    # Keyed hash of (patron, item, loan time) under a server-held key: dedupes without revealing.
    Column("dedupe_tag", String(64), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    UniqueConstraint(
        "tenant_id", "patron_key", "dedupe_tag", name="uq_reading_history_entries_dedupe"
    ),
)

# Loans the patron had out when reading history was switched on: never recorded while still
# out (the history starts at the switch). Keyed hashes of (patron, item) under a server-held
# key, so the database alone does not say which items they were.
reading_history_preexisting = Table(
    "reading_history_preexisting",
    metadata,
    *_owner(),
    Column("tag", String(64), nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key", "tag"),
)

# Patrons the periodic jobs visit: the ILS patron record sealed under a key derived from the
# server secret (the card must be known to ask the ILS, and must not be readable in a dump).
job_roster = Table(
    "job_roster",
    metadata,
    *_owner(),
    Column("sealed", LargeBinary, nullable=False),
    Column("enrolled_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key"),
)

# One holder per periodic job at a time, across processes (a lease that expires).
job_leases = Table(
    "job_leases",
    metadata,
    Column("name", String(128), nullable=False),
    Column("holder", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("name"),
)

# New-arrival alerts (SDI, 新着図書お知らせ; issue 18): a patron's saved conditions. Personal data:
# filed under the keyed patron hash like the shelves, shown to that patron only.
sdi_conditions = Table(
    "sdi_conditions",
    metadata,
    Column("condition_id", String(32), primary_key=True),
    *_owner(),
    Column("name", Text, nullable=False),
    Column("author", Text, nullable=True),
    Column("title_words", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("material_type", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seq", Integer, nullable=False),
    Index("ix_sdi_conditions_owner", "tenant_id", "patron_key"),
)

# Per tenant, where the next new-arrival run starts: the end of the last run whose mails were
# all enqueued (advanced only then, so a crash mid-run repeats the window rather than skip it).
sdi_runs = Table(
    "sdi_runs",
    metadata,
    Column("tenant_id", String(TENANT), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id"),
)

# The mail outbox (issue 18): one row per mail to send. ``dedup_key`` is unique per tenant, so
# one event is queued once however many processes see it; a drainer claims due rows (status
# "sending", ``claim_token`` and ``lease_until``), sends, and marks them sent, or back to
# "pending" with a later ``next_attempt_at``, or "failed" after the last attempt. Recipients
# and the template's context are JSON text.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(TENANT), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("recipients", Text, nullable=False),
    Column("template", String(64), nullable=False),
    Column("language", String(8), nullable=True),
    Column("context", Text, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claim_token", String(32), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    UniqueConstraint("tenant_id", "dedup_key", name="uq_mail_outbox_dedup"),
    Index("ix_mail_outbox_due", "status", "next_attempt_at"),
)

# The last run of each periodic job (per tenant; "" for a job over every tenant), for
# ``ils-gateway jobs list`` (issue 18).
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(128), nullable=False),
    Column("tenant_id", String(TENANT), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("detail", String(500), nullable=True),
    PrimaryKeyConstraint("name", "tenant_id"),
)

# Notice preferences the gateway keeps beside ``patron_settings`` (issue 18): the due-date
# reminder's lead time (None: the tenant's default), the overdue notice and the child entry
# mail (こどもメールサービス) switches.
notice_preferences = Table(
    "notice_preferences",
    metadata,
    *_owner(),
    Column("due_reminder_days", Integer, nullable=True),
    Column("overdue_notice", Boolean, nullable=False),
    Column("child_entry_mail", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key"),
)

# Every notice the gateway has given, whatever the channel (issue 18): ``dedup_key`` is unique
# per tenant, so an event is noticed once even when the patron's contact method changed in
# between. Phone notices are the staff's call list: ``sealed`` holds what staff need (name,
# phone, title, pickup, deadline) sealed under a key derived from the server secret, and
# ``done_at``/``done_by`` say when a call was made.
notice_ledger = Table(
    "notice_ledger",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("tenant_id", String(TENANT), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("event", String(32), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("patron_key", String(PATRON_KEY), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sealed", LargeBinary, nullable=True),
    Column("done_at", UTCDateTime, nullable=True),
    Column("done_by", String(64), nullable=True),
    UniqueConstraint("tenant_id", "dedup_key", name="uq_notice_ledger_dedup"),
    Index("ix_notice_ledger_calls", "tenant_id", "channel", "done_at"),
)

# Where the bounded polling of each tenant's notice job goes on next run (issue 18).
notice_cursors = Table(
    "notice_cursors",
    metadata,
    Column("tenant_id", String(TENANT), nullable=False),
    Column("job", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "job"),
)
# Account lifecycle (issue 18). A single-use link's token is never kept: only its SHA-256
# (``token_hash``), and what the link will do (``payload``: the card, a new address…) sealed
# under a key derived from the token itself, so that the row is unreadable without the link.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token_hash", String(64), nullable=False),
    *_owner(),
    Column("purpose", String(16), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("token_hash"),
    Index("ix_account_tokens_owner", "tenant_id", "patron_key", "purpose"),
)

# What the gateway keeps of an account where the library system cannot (SIP2): the password
# (scrypt hash), a confirmed phone number.
account_profiles = Table(
    "account_profiles",
    metadata,
    *_owner(),
    Column("password_hash", Text, nullable=True),
    Column("phone", String(32), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "patron_key"),
)
