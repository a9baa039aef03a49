"""The gateway's canonical vocabularies.

Every backend's own words (SIP2 flags and screen messages, Koha and FOLIO statuses, the
libraries' Japanese labels) are translated into these enums by the adapters; everything above
the adapters speaks only these. Values are stable API strings: never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class HoldStatus(StrEnum):
    """Where a hold stands, in the one vocabulary shared by every library and backend."""

    UNDER_REVIEW = "under_review"  # purchase request being considered (検討中, リクエスト)
    ORDERED = "ordered"  # bought or borrowed from another library (手配済)
    WAITING = "waiting"  # confirmed, in the queue (予約中)
    IN_TRANSIT = "in_transit"  # a copy is travelling to the pickup library (移送中, 回送中)
    PREPARING = "preparing"  # arrived, being shelved for pickup (準備中)
    READY = "ready"  # on the pickup shelf (提供可能, お渡しできます, 貸出可能, 取置中)
    SUSPENDED = "suspended"  # patron paused or skipped their turn (予約取置スキップ)
    CANCELLED = "cancelled"  # cancelled by patron or library (取消)
    EXPIRED = "expired"  # not collected before the pickup deadline
    FULFILLED = "fulfilled"  # picked up: became a loan

    @property
    def is_active(self) -> bool:
        """True while the hold still counts as a live request (not a history entry)."""
        return self not in _CLOSED_HOLD_STATUSES


_CLOSED_HOLD_STATUSES = frozenset({HoldStatus.CANCELLED, HoldStatus.EXPIRED, HoldStatus.FULFILLED})


class LoanState(StrEnum):
    """The state of one loan as the patron sees it."""

    ON_LOAN = "on_loan"  # out, not yet due
    OVERDUE = "overdue"  # past its due date
    RETURNED = "returned"  # checked in (history, e-book auto return)
    LOST = "lost"  # declared lost or claimed returned, awaiting staff


class MaterialType(StrEnum):
    """Kinds of material the libraries' hold limits and exclusions are written in."""

    BOOK = "book"
    MAGAZINE = "magazine"
    PICTURE_BOOK = "picture_book"
    KAMISHIBAI = "kamishibai"  # 紙芝居 picture-story cards
    CD = "cd"
    CASSETTE = "cassette"
    VIDEO = "video"  # VHS tapes
    DVD = "dvd"
    BLU_RAY = "blu_ray"
    LP = "lp"
    CD_ROM = "cd_rom"
    MAP = "map"
    ART_REPRODUCTION = "art_reproduction"  # 複製絵画, lent by some libraries
    LARGE_PRINT = "large_print"
    BRAILLE = "braille"
    EBOOK = "ebook"
    OTHER = "other"

    @property
    def is_audiovisual(self) -> bool:
        """True for sound and video media (the "AV" of several libraries' hold limits)."""
        return self in _AUDIOVISUAL


_AUDIOVISUAL = frozenset(
    {
        MaterialType.CD,
        MaterialType.CASSETTE,
        MaterialType.VIDEO,
        MaterialType.DVD,
        MaterialType.BLU_RAY,
        MaterialType.LP,
    }
)


class CopyStatus(StrEnum):
    """Where one copy of a title stands, as a catalogue shows it (所蔵状況)."""

    AVAILABLE = "available"  # on the shelf, can be borrowed (在架)
    ON_LOAN = "on_loan"  # lent out (貸出中)
    ON_HOLD_SHELF = "on_hold_shelf"  # kept for a patron's hold (予約取置中)
    IN_TRANSIT = "in_transit"  # travelling between branches (回送中)
    IN_PROCESSING = "in_processing"  # being catalogued or reshelved (整理中)
    ON_ORDER = "on_order"  # ordered, not yet received (発注中)
    REFERENCE_ONLY = "reference_only"  # on the shelf, not lent (禁帯出)
    MISSING = "missing"  # lost or missing (不明)
    UNAVAILABLE = "unavailable"  # any other state in which it cannot be borrowed


class ContactMethod(StrEnum):
    """How the library tells the patron a hold is ready."""

    EMAIL = "email"
    EMAIL2 = "email2"  # the patron's second registered address
    PHONE = "phone"
    POST = "post"
    NONE = "none"  # patron checks the portal themselves


class RefusalReason(StrEnum):
    """Why the library (or the gateway on its behalf) said no to a loan or hold action."""

    HAS_HOLDS = "has_holds"  # another patron is waiting for the item
    RENEWAL_LIMIT = "renewal_limit"  # renewals allowed are used up
    OVERDUE = "overdue"  # the loan is overdue and the library does not renew overdue loans
    TOO_OVERDUE = "too_overdue"  # overdue beyond the library's grace (Saitama: > 14 days)
    TOO_EARLY = "too_early"  # before the earliest renewal day (Saitama: 13 days before due)
    INTERLIBRARY_LOAN = "interlibrary_loan"  # borrowed from another library system
    EXCLUDED_ITEM_TYPE = "excluded_item_type"  # material or loan type the policy excludes
    HOLD_LIMIT = "hold_limit"  # patron already has as many holds as allowed
    DUPLICATE_HOLD = "duplicate_hold"  # patron already holds this title
    ALREADY_ON_LOAN = "already_on_loan"  # patron is borrowing this item now
    NO_COPIES = "no_copies"  # every licensed e-book copy is lent or kept for a hold
    LOAN_LIMIT = "loan_limit"  # patron already borrows as many (e-book) titles as allowed
    TITLE_AVAILABLE = "title_available"  # no hold needed: a copy can be borrowed now
    CARD_EXPIRED = "card_expired"
    PATRON_BLOCKED = "patron_blocked"
    NOT_CANCELLABLE_IN_STATE = "not_cancellable_in_state"
    NOT_MODIFIABLE_IN_STATE = "not_modifiable_in_state"
    IN_SEQUENCE = "in_sequence"  # the hold belongs to a hold sequence; leave it first
    COMBINED_HOLD = "combined_hold"  # AND/OR holds cannot be changed online
    NON_CIRCULATING = "non_circulating"  # reference-only or otherwise not lendable
    AGE_RESTRICTION = "age_restriction"
    ITEM_OVERDUE_BLOCKS_HOLDS = "item_overdue_blocks_holds"  # Ibaraki: an item 4+ days overdue
    BOOKMOBILE_CONTACT_PHONE_ONLY = "bookmobile_contact_phone_only"
    BOOKMOBILE_STOP_REQUIRED = "bookmobile_stop_required"
    INVALID_PICKUP_LIBRARY = "invalid_pickup_library"
    CONTACT_METHOD_NOT_OFFERED = "contact_method_not_offered"  # Kanagawa: e-mail or none only
    EXTENSION_NOT_ALLOWED = "extension_not_allowed"  # pickup-shelf extension refused
    BASKET_FULL = "basket_full"
    NOT_RENEWABLE = "not_renewable"  # the ILS said no without a reason we can name
    UNKNOWN = "unknown"


class BlockReason(StrEnum):
    """Why a patron's card cannot be used now."""

    CARD_EXPIRED = "card_expired"
    CARD_UNUSED = "card_unused"  # not used for years (3 at several libraries)
    OVERDUE_ITEMS = "overdue_items"
    LOST_CARD = "lost_card"
    FINES = "fines"
    TOO_MANY_CLAIMS = "too_many_claims"
    ADMINISTRATIVE = "administrative"  # set by staff
    OTHER = "other"


class Channel(StrEnum):
    """Where a patron request comes from."""

    WEB = "web"  # the library's My Library portal
    KIOSK = "kiosk"  # an OPAC kiosk in the library


class ItemSource(StrEnum):
    """Which system holds an item, loan or hold."""

    ILS = "ils"
    EBOOK = "ebook"


class Feature(StrEnum):
    """Patron-facing features a tenant may switch off, per channel."""

    LOANS = "loans"
    RENEWALS = "renewals"
    HOLDS = "holds"
    HOLD_CHANGES = "hold_changes"
    BASKET = "basket"
    HOLD_SEQUENCES = "hold_sequences"
    OR_HOLDS = "or_holds"  # いずれか予約: any one of several records (issue 19)
    HOLD_SKIP = "hold_skip"
    TRANSFERS = "transfers"
    PICKUP_EXTENSION = "pickup_extension"
    BOOKSHELVES = "bookshelves"
    READING_HISTORY = "reading_history"
    NEW_ARRIVAL_ALERTS = "new_arrival_alerts"
    ACCOUNT_SETTINGS = "account_settings"
    PASSWORD_CHANGE = "password_change"
    EBOOKS = "ebooks"
    CARD_BARCODE = "card_barcode"
    FEES = "fees"  # what the patron owes (GET …/patron/fees)


class HoldAction(StrEnum):
    """What a patron may do to a hold right now (listed per hold as ``allowed_actions``)."""

    CANCEL = "cancel"
    CHANGE_PICKUP = "change_pickup"
    CHANGE_CONTACT = "change_contact"
    SUSPEND = "suspend"
    RESUME = "resume"
    EXTEND_PICKUP = "extend_pickup"
    JOIN_SEQUENCE = "join_sequence"
    LEAVE_SEQUENCE = "leave_sequence"


class Outcome(StrEnum):
    """How one item of a multi-item operation (renew several, confirm a basket) ended."""

    OK = "ok"
    REFUSED = "refused"  # the library said no, for a RefusalReason
    ERROR = "error"  # the gateway or backend failed for this item; nothing is known to be done


class FeeType(StrEnum):
    """What a charge on a patron's account is for, in one vocabulary across backends.

    Japanese public libraries rarely charge overdue fines; what they do charge is the price
    of a lost or damaged item (弁償) and, at some, a card reissue. SIP2's fee types (01-09),
    Koha's debit types and FOLIO's fee/fine types map onto these.
    """

    LOST_ITEM = "lost_item"  # 紛失弁償: the replacement price of a lost item (SIP2 07)
    DAMAGED_ITEM = "damaged_item"  # 汚損・破損弁償 (SIP2 03)
    OVERDUE = "overdue"  # 延滞金 (SIP2 04)
    PROCESSING = "processing"  # processing fee, e.g. with a lost item (SIP2 05)
    CARD_REPLACEMENT = "card_replacement"  # カード再発行
    HOLD_FEE = "hold_fee"  # 予約手数料 (SIP2 09)
    RENTAL = "rental"  # rental charge (SIP2 06)
    ADMINISTRATIVE = "administrative"  # (SIP2 02)
    OTHER = "other"  # anything else (SIP2 01), with the library's own description
