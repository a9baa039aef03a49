"""What the simulated ILS's operations answer: frozen views, refusals and faults.

A refusal carries two things, as a real ILS answers: a machine token (Koha's own codes where
Koha has one, e.g. ``too_soon``, ``on_reserve``, ``tooManyReserves``; a code in the same
style where it has none) and the Japanese screen message a self-check would show (SIP2 AF).
Faces pick whichever their vendor sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ils_gateway.simulators.policy import HoldState, ItemType
from ils_gateway.simulators.records import ContactMethod


class RefusalToken(StrEnum):
    """Why the ILS said no, as a machine token."""

    # renewals (Koha allows_renewal.error)
    TOO_MANY = "too_many"
    ON_RESERVE = "on_reserve"
    TOO_SOON = "too_soon"
    OVERDUE = "overdue"
    TOO_LATE = "auto_too_late"  # more than the grace days overdue (Saitama rule)
    INTERLIBRARY_LOAN = "ill_not_renewable"
    ITEM_DENIED_RENEWAL = "item_denied_renewal"
    RESTRICTION = "restriction"  # patron blocked (renewal wording)
    CARD_EXPIRED = "card_expired"
    # holds (Koha CanItemBeReserved / CanBookBeReserved)
    TOO_MANY_RESERVES = "tooManyReserves"
    ALREADY_RESERVED = "alreadyReserved"
    ALREADY_POSSESSION = "alreadypossession"
    NOT_RESERVABLE = "notReservable"
    EXPIRED = "expired"  # card expired (hold wording)
    DEBARRED = "debarred"  # patron blocked (hold wording)
    ITEM_OVERDUE = "itemOverdue"
    PICKUP_NOT_VALID = "libraryNotPickupLocation"
    BOOKMOBILE_PHONE_ONLY = "bookmobilePhoneOnly"
    # changing holds
    NOT_CANCELLABLE = "hold_not_cancellable"
    HOLD_FOUND = "hold_found"  # cannot change or suspend a hold that has a copy
    NOT_MODIFIABLE = "hold_not_modifiable"  # e.g. a purchase request under review
    NOT_SUSPENDED = "hold_not_suspended"
    NOT_AWAITING_PICKUP = "hold_not_waiting"
    EXTENSION_USED = "extension_used"
    OTHERS_WAITING = "others_waiting"
    # circulation
    NOT_FOR_LOAN = "not_for_loan"
    CHECKED_OUT = "checked_out"  # the copy is on loan to someone else
    RESERVED = "reserved"  # the copy is held for someone else
    NOT_LOANABLE_NOW = "not_loanable"  # lost, missing, on order...
    NOT_CHECKED_OUT = "not_checked_out"
    # account
    NO_FEES = "no_fees"
    INVALID_AMOUNT = "invalid_amount"
    WRONG_PASSWORD = "wrong_password"
    PASSWORD_REJECTED = "password_rejected"


MESSAGES: dict[RefusalToken, str] = {
    RefusalToken.TOO_MANY: "延長回数の上限に達しているため延長できません",
    RefusalToken.ON_RESERVE: "この資料は他の方が予約しているため延長できません",
    RefusalToken.TOO_SOON: "まだ延長できる期間ではありません",
    RefusalToken.OVERDUE: "返却期限を過ぎているため延長できません",
    RefusalToken.TOO_LATE: "返却期限を大幅に過ぎているため延長できません",
    RefusalToken.INTERLIBRARY_LOAN: "相互貸借の資料は延長できません",
    RefusalToken.ITEM_DENIED_RENEWAL: "この資料は延長できません",
    RefusalToken.RESTRICTION: "利用が制限されているため延長できません。"
    "カウンターにお問い合わせください",
    RefusalToken.CARD_EXPIRED: "利用カードの有効期限が切れています。カウンターで更新してください",
    RefusalToken.TOO_MANY_RESERVES: "予約できる上限数を超えています",
    RefusalToken.ALREADY_RESERVED: "この資料はすでに予約されています",
    RefusalToken.ALREADY_POSSESSION: "この資料は現在あなたが借りています",
    RefusalToken.NOT_RESERVABLE: "この資料は予約できません",
    RefusalToken.EXPIRED: "利用カードの有効期限が切れているため予約できません",
    RefusalToken.DEBARRED: "利用が制限されているため予約できません。"
    "カウンターにお問い合わせください",
    RefusalToken.ITEM_OVERDUE: "返却期限を過ぎた資料があるため予約できません",
    RefusalToken.PICKUP_NOT_VALID: "指定された受取館では受け取れません",
    RefusalToken.BOOKMOBILE_PHONE_ONLY: "移動図書館での受取は電話連絡のみです",
    RefusalToken.NOT_CANCELLABLE: "この予約は現在取り消しできません",
    RefusalToken.HOLD_FOUND: "資料の用意が始まっているため変更できません",
    RefusalToken.NOT_MODIFIABLE: "この予約は現在変更できません",
    RefusalToken.NOT_SUSPENDED: "この予約は休止されていません",
    RefusalToken.NOT_AWAITING_PICKUP: "取置中の予約ではありません",
    RefusalToken.EXTENSION_USED: "取置期限の延長はすでに行われています",
    RefusalToken.OTHERS_WAITING: "他の方が予約しているため取置期限を延長できません",
    RefusalToken.NOT_FOR_LOAN: "この資料は館内利用のみです",
    RefusalToken.CHECKED_OUT: "この資料は貸出中です",
    RefusalToken.RESERVED: "この資料は他の方の予約資料です",
    RefusalToken.NOT_LOANABLE_NOW: "この資料は現在貸出できません",
    RefusalToken.NOT_CHECKED_OUT: "この資料は貸出されていません",
    RefusalToken.NO_FEES: "お支払いいただく料金はありません",
    RefusalToken.INVALID_AMOUNT: "金額が正しくありません",
    RefusalToken.WRONG_PASSWORD: "現在のパスワードが正しくありません",
    RefusalToken.PASSWORD_REJECTED: "新しいパスワードが条件を満たしていません",
}


class SimulatorError(Exception):
    """Base of everything the simulated ILS raises."""


class Refusal(SimulatorError):
    """The ILS refused the operation; nothing was changed."""

    def __init__(self, token: RefusalToken, message: str | None = None) -> None:
        self.token = token
        self.message = message or MESSAGES[token]
        super().__init__(f"{token.value}: {self.message}")


class UnknownRecord(SimulatorError):
    """No patron, item, title, hold or fee with that id (or not this patron's)."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"unknown {kind}: {key!r}")


class SimulatedFault(SimulatorError):
    """A failure injected by the fault knobs; the operation did nothing."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(f"simulated failure of {operation}")


class PatronBlock(StrEnum):
    """Why a patron's card cannot be used now."""

    MANUAL = "manual"  # blocked by staff or a block patron request
    EXPIRED = "expired"
    INACTIVE = "inactive"  # card unused for years


@dataclass(frozen=True)
class Authentication:
    """The answer to a login: whether the card and the password are known and matched."""

    patron_found: bool
    password_ok: bool
    patron_id: int | None = None
    temporary_password: bool = False
    blocks: tuple[PatronBlock, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the card exists and the password matched."""
        return self.patron_found and self.password_ok


@dataclass(frozen=True)
class LoanView:
    """One loan as the faces report it (a SIP2 charged item, a Koha checkout)."""

    checkout_id: int
    item_id: int
    barcode: str
    biblio_id: int
    title: str
    item_type: ItemType
    patron_id: int
    branch: str
    checked_out: datetime
    due: date
    renewals: int
    overdue_days: int
    interlibrary: bool
    returned: datetime | None
    renewal_refusal: Refusal | None  # None: renewable now

    @property
    def renewable(self) -> bool:
        """True when a renewal would be accepted now."""
        return self.renewal_refusal is None

    @property
    def is_overdue(self) -> bool:
        """True when the due date has passed."""
        return self.overdue_days > 0


@dataclass(frozen=True)
class HoldView:
    """One hold as the faces report it, with what a SIP2 ACS and the Koha API need."""

    hold_id: int
    patron_id: int
    biblio_id: int
    title: str
    item_type: ItemType
    state: HoldState
    item_level: bool
    item_id: int | None
    barcode: str | None
    pickup: str
    placed: datetime
    queue_position: int | None  # 1 = next; None once found or closed
    queue_length: int  # open, unfound holds on the title
    suspended: bool
    suspended_until: date | None
    deadline: date | None
    extensions: int
    cancellation_requested: bool
    contact: ContactMethod
    closed: datetime | None = None  # when a closed hold was closed
    cancelled_by_staff: bool = False  # a cancelled hold: the library cancelled it

    @property
    def found(self) -> str | None:
        """Koha's ``found`` letter: T in transit, P processing, W waiting on the shelf."""
        return _FOUND_LETTER.get(self.state)


_FOUND_LETTER = {
    HoldState.TRANSIT: "T",
    HoldState.PROCESSING: "P",
    HoldState.AWAITING_PICKUP: "W",
}


@dataclass(frozen=True)
class ItemInfo:
    """One copy as a self-check asks about it (SIP2 17/18) and Koha lists it."""

    item_id: int
    barcode: str
    biblio_id: int
    title: str
    author: str
    item_type: ItemType
    status: str  # ItemStatus value
    circulation_status: str  # SIP2 two-digit code 01-13
    home_branch: str
    location: str
    call_number: str
    not_for_loan: bool
    holdable: bool
    interlibrary_from: str | None
    hold_queue_length: int
    due: date | None
    on_hold_shelf: bool
    in_transit: bool
    hold_pickup_deadline: date | None
    hold_pickup: str | None  # where the held copy goes / waits
    checked_out: date | None = None  # the day the open loan began (Koha's checked_out_date)
    renewals: int | None = None  # renewals of the open loan (None: not on loan)
    loan_branch: str | None = None  # where the open loan was made (a branch or bookmobile)
    acquired: date | None = None  # 受入日: the day the copy was added (new arrivals)
    last_seen: date | None = None  # the day a self-check last saw it (Koha's datelastseen)


@dataclass(frozen=True)
class FeeView:
    """One outstanding charge as the faces show it."""

    id: int
    kind: str  # FeeKind value
    amount: int  # yen first charged
    outstanding: int  # yen still owed
    description: str
    created: date | None
    item_id: int | None
    barcode: str | None
    title: str | None


@dataclass(frozen=True)
class PatronInfo:
    """A patron's account summary (SIP2 63/64, Koha patron)."""

    patron_id: int
    card_number: str
    name: str
    name_kana: str
    category: str
    home_branch: str
    email: str | None
    phone: str | None
    address: str
    birth_date: date
    expiry_date: date
    temporary_password: bool
    blocks: tuple[PatronBlock, ...]
    block_note: str | None
    hold_items: tuple[str, ...]  # barcodes of copies waiting on the hold shelf
    overdue_items: tuple[str, ...]
    charged_items: tuple[str, ...]
    fine_items: tuple[str, ...]  # AV lines: Koha's default template, "<description> <amount>"
    unavailable_holds: tuple[str, ...]  # barcode when known, else the title
    fee_total: int  # yen outstanding
    hold_ids: tuple[int, ...]  # every open hold
    fees: tuple[FeeView, ...] = ()  # every outstanding charge

    @property
    def counts(self) -> dict[str, int]:
        """The six SIP2 64 counts (recall is always 0 here)."""
        return {
            "hold": len(self.hold_items),
            "overdue": len(self.overdue_items),
            "charged": len(self.charged_items),
            "fine": len(self.fine_items),
            "recall": 0,
            "unavailable_hold": len(self.unavailable_holds),
        }


@dataclass(frozen=True)
class PickupLocation:
    """A place a hold can be collected: a library or a bookmobile station."""

    code: str
    name: str
    bookmobile: str | None = None  # the bookmobile's branch code for a station


@dataclass(frozen=True)
class CheckinResult:
    """What happened when a copy came back."""

    barcode: str
    loan_id: int | None  # the loan closed, if it was on loan
    hold: HoldView | None  # the hold the copy now serves, if any
    route_to: str | None  # branch the copy must travel to, if any


@dataclass(frozen=True)
class RenewAllResult:
    """Per-loan results of renewing every loan of a patron."""

    renewed: tuple[LoanView, ...]
    unrenewed: tuple[tuple[str, Refusal], ...]  # (barcode, why)


@dataclass(frozen=True)
class Payment:
    """A fee payment: how much was taken and what is still owed."""

    accepted: int
    outstanding: int
    fee_ids: tuple[int, ...]


@dataclass(frozen=True)
class HoldEvent:
    """A hold that moved because time passed (see ``SimulatedLibrary.advance``)."""

    hold_id: int
    before: HoldState
    after: HoldState
    resumed: bool = False
