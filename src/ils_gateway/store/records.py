"""Small frozen records the repositories take and return.

They carry no SQL and no behaviour beyond validation; ``services/`` turns them into domain
models where the API needs them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from ils_gateway.store.errors import InvalidValue

#: Per-item comment on a bookshelf: the libraries say "100 full-width characters".
ITEM_COMMENT_MAX_CHARS = 100
#: Shelf name and shelf comment: the libraries give no figure; these keep rows small.
SHELF_NAME_MAX_CHARS = 50
SHELF_COMMENT_MAX_CHARS = 200
RATING_MIN, RATING_MAX = 1, 5


def checked_text(field_name: str, value: str, max_chars: int, *, allow_empty: bool = True) -> str:
    """Return ``value`` in NFC form if it has at most ``max_chars`` characters.

    Characters are Unicode code points after NFC normalisation (so か + ゛ counts as one が),
    never bytes: a full-width character is one character, as the libraries count them.
    """
    text = unicodedata.normalize("NFC", value)
    if not allow_empty and not text.strip():
        raise InvalidValue(field_name, "must not be empty")
    if len(text) > max_chars:
        raise InvalidValue(field_name, f"at most {max_chars} characters (got {len(text)})")
    return text


def checked_rating(rating: int | None) -> int | None:
    """Return ``rating`` if it is None or a whole number from 1 to 5."""
    if rating is None:
        return None
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise InvalidValue("rating", "must be a whole number")
    if not RATING_MIN <= rating <= RATING_MAX:
        raise InvalidValue("rating", f"must be {RATING_MIN} to {RATING_MAX}")
    return rating


class Unset:
    """The type of ``UNSET``: "leave this field as it is", distinct from None ("clear it")."""

    def __repr__(self) -> str:
        return "UNSET"


#: "Leave this as it is" in partial updates (shelf name/comment, item rating/comment).
UNSET: Final = Unset()


@dataclass(frozen=True, slots=True)
class PatronRef:
    """Whose row this is: the tenant and the keyed hash of the patron's card (never the card)."""

    tenant_id: str
    patron_key: str


# --- basket ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BasketItem:
    """An item in the reservation basket (予約かご); not a hold until checked out."""

    source: str
    item_id: str
    title: str
    added_at: datetime


class BasketAddOutcome(StrEnum):
    """What happened when an item was put in the basket."""

    ADDED = "added"
    ALREADY_PRESENT = "already_present"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class BasketAddResult:
    """The outcome of adding to the basket and how many items it holds afterwards."""

    outcome: BasketAddOutcome
    count: int
    limit: int


# --- hold sequences -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SequenceMember:
    """One hold of a sequence and the item it is for."""

    hold_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class HoldSequence:
    """Holds the patron wants filled in this order (順番予約): member n+1 waits for member n."""

    sequence_id: str
    members: tuple[SequenceMember, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrHoldMember:
    """One record of an OR-hold group and the hold placed on it."""

    record_id: str
    hold_id: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class OrHoldGroup:
    """Holds on several records of which the patron wants any one (いずれか予約)."""

    group_id: str
    members: tuple[OrHoldMember, ...]
    pickup_library: str
    created_at: datetime


# --- cancelled-hold history -----------------------------------------------------------------


class CancelReason(StrEnum):
    """Why a hold left the hold list without becoming a loan."""

    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class CancelledHold:
    """An entry of the cancelled-hold history the library keeps for a while."""

    hold_id: str
    title: str
    reason: CancelReason
    at: datetime
    by: str | None = None  # "patron" or "library" where known (HoldEndedBy)


# --- bookshelves ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shelf:
    """A named bookshelf (マイ本棚) with a comment and its number of items."""

    shelf_id: str
    name: str
    comment: str
    created_at: datetime
    item_count: int


@dataclass(frozen=True, slots=True)
class ShelfItem:
    """An item on a bookshelf with the patron's rating (1-5) and comment."""

    item_id: str
    title: str
    rating: int | None
    comment: str | None
    added_at: datetime


# --- patron settings ------------------------------------------------------------------------


class EmailKind(StrEnum):
    """Whether an address is read on a computer or a mobile phone."""

    PC = "pc"
    MOBILE = "mobile"


class HoldNoticeAddress(StrEnum):
    """Which of the two registered addresses gets hold notices."""

    EMAIL1 = "email1"
    EMAIL2 = "email2"


class HoldContactMethod(StrEnum):
    """How the library tells the patron a hold is ready."""

    EMAIL = "email"
    PHONE = "phone"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PatronSettings:
    """The patron's own preferences the gateway keeps (the ILS may keep some of them too)."""

    email1: str | None = None
    email1_kind: EmailKind | None = None
    email2: str | None = None
    email2_kind: EmailKind | None = None
    hold_notice_to: HoldNoticeAddress | None = None
    default_pickup_library: str | None = None
    hold_contact_method: HoldContactMethod | None = None
    due_date_reminder: bool = False
    reading_history_enabled: bool = False
    #: The moment reading history was last switched on; None while it is off.
    reading_history_since: datetime | None = None


# --- idempotency ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The first request seen under an Idempotency-Key and, once known, its response."""

    key: str
    fingerprint: str
    status: int | None
    body: bytes | None
    created_at: datetime
    expires_at: datetime

    @property
    def completed(self) -> bool:
        """True once the first request's response has been stored."""
        return self.status is not None


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """The answer to "may I run this request?": ``won`` means yes, you are the first."""

    won: bool
    record: IdempotencyRecord


# --- reading history ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadingHistoryEntry:
    """One loan in the patron's reading history (読書履歴), as the patron sees it."""

    item_id: str
    title: str
    loaned_at: datetime
    author: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHistoryEntry:
    """A decrypted reading-history entry with the id used to delete it."""

    entry_id: str
    entry: ReadingHistoryEntry


@dataclass(frozen=True, slots=True)
class ReadingHistoryPage:
    """Entries the patron's key opens, newest first, and how many it cannot open.

    ``unreadable_entries`` counts entries sealed to an earlier key, which a password reset by
    the library (without the old password) left behind: the gateway says so rather than hide them.
    """

    entries: tuple[StoredHistoryEntry, ...]
    unreadable_entries: int
    total_entries: int


class HistoryRecordOutcome(StrEnum):
    """What happened when the background job offered a loan to the reading history."""

    ADDED = "added"
    DUPLICATE = "duplicate"
    #: No keypair: the patron has never switched history on, so nothing can be recorded.
    NO_KEY = "no_key"


@dataclass(frozen=True, slots=True)
class UnlockedHistoryKey:
    """A patron's reading-history private key, opened with the password, for one session."""

    generation: int
    private_key: bytes = field(repr=False)
