"""Frozen pydantic models every layer speaks: patrons, items, pickup libraries, loans, holds,
and the per-item results of multi-item operations.

Adapters build these from backend answers; services read them and decide; ``api/`` serialises
them. They hold no behaviour that needs I/O. Dates are ``date`` (library rules are per day,
local to the tenant); instants are timezone-aware ``datetime``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ils_gateway.domain.errors import GatewayError, Refused
from ils_gateway.domain.vocab import (
    BlockReason,
    ContactMethod,
    HoldAction,
    HoldStatus,
    ItemSource,
    LoanState,
    MaterialType,
    Outcome,
    RefusalReason,
)


def mask_card(card_number: str, keep: int = 4) -> str:
    """Mask a card number for logs and screens, keeping at most the last ``keep`` characters."""
    keep = max(0, min(keep, 4, len(card_number) - 1)) if card_number else 0
    return "*" * (len(card_number) - keep) + (card_number[-keep:] if keep else "")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Patron(_Frozen):
    """A library user as the ILS knows them, after a successful login."""

    id: str = Field(description="the ILS's own patron id (SIP2: the card number)")
    card_number: str = Field(repr=False, description="normalised card number; mask before logging")
    name: str = ""
    category: str | None = Field(None, description="patron type in the ILS's words")
    home_library: str | None = None
    blocks: tuple[BlockReason, ...] = ()
    block_messages: tuple[str, ...] = Field((), description="the ILS's own block texts")
    card_expires: date | None = None
    birth_date: date | None = Field(None, repr=False)
    email: str | None = Field(None, repr=False)
    email2: str | None = Field(None, repr=False)
    phone: str | None = Field(None, repr=False)
    loans_count: int = Field(0, ge=0)
    overdue_count: int = Field(0, ge=0)
    holds_count: int = Field(0, ge=0)
    holds_ready_count: int = Field(0, ge=0)
    fees_owed: int | None = Field(
        None,
        description="yen owed in fines and fees, where the library system's summary says (SIP2"
        " BV); None when it does not (GET …/patron/fees has the details everywhere)",
    )
    temporary_password: bool = Field(False, description="must change password before anything")
    is_child: bool = False

    @property
    def masked_card(self) -> str:
        """The card number with all but the last four characters hidden."""
        return mask_card(self.card_number)

    @property
    def is_blocked(self) -> bool:
        """True when the card cannot be used for loans or holds now."""
        return bool(self.blocks)

    def card_expired_on(self, today: date) -> bool:
        """True when the card's expiry date is before ``today``."""
        return self.card_expires is not None and self.card_expires < today


class Item(_Frozen):
    """A copy (or, for title-level holds, a title) the library lends."""

    id: str = Field(description="item barcode, bibliographic id or e-book id, per ``source``")
    title: str
    barcode: str | None = Field(
        None,
        description="the copy's barcode where ``id`` is another id (FOLIO's item UUID): what a"
        " self-check machine scans and shows",
    )
    author: str | None = None
    material_type: MaterialType = MaterialType.BOOK
    source: ItemSource = ItemSource.ILS
    call_number: str | None = None
    location: str | None = Field(None, description="shelving library or collection")
    circulation_status: str | None = Field(None, description="the backend's availability text")
    isbn: str | None = None
    volume: str | None = Field(None, description="volume designation of a series (巻次)")
    reference_only: bool = False


class BookmobileStation(_Frozen):
    """One stop of a bookmobile route where holds can be collected."""

    code: str
    name: str


class Library(_Frozen):
    """A pickup location: a library building, or a bookmobile with its stations."""

    code: str
    name: str
    is_bookmobile_stop: bool = False
    bookmobile_stations: tuple[BookmobileStation, ...] = ()


class RenewabilityUnknown(StrEnum):
    """Why a loan's renewability is not known (``Loan.renewable`` is null)."""

    RENEWAL_COUNT_UNKNOWN = "renewal_count_unknown"  # renewals used (or allowed) not reported
    NO_VERDICT = "no_verdict"  # the library system gives no renewability verdict


class HoldEndedBy(StrEnum):
    """Who ended a hold that was cancelled."""

    PATRON = "patron"
    LIBRARY = "library"


class Loan(_Frozen):
    """One item the patron is borrowing, with whether (and why not) it can be renewed now."""

    id: str = Field(description="loan id; the item id where the backend has no loan id")
    item: Item
    loaned_on: date | None = None
    due_date: date
    state: LoanState = LoanState.ON_LOAN
    days_overdue: int = Field(0, ge=0)
    renewals_used: int | None = Field(
        0,
        ge=0,
        description="renewals made so far; null when the library system does not say (plain"
        " SIP2 has no renewal count)",
    )
    renewals_allowed: int | None = Field(
        None, ge=0, description="renewals allowed in all (the library system's, else the rule's)"
    )
    renewals_remaining: int | None = Field(
        None, ge=0, description="renewals left; null when the count or the limit is not known"
    )
    renewable: bool | None = Field(
        True,
        description="whether a renewal asked for now would be accepted: true, false (see"
        " refusal_reason), or null when the library system does not say and the gateway cannot"
        " tell (see renewable_unknown)",
    )
    renewable_unknown: RenewabilityUnknown | None = Field(
        None, description="why renewable is null: what the library system does not say"
    )
    refusal_reason: RefusalReason | None = None
    backend_message: str | None = None
    interlibrary: bool = False
    loan_branch: str | None = Field(
        None,
        description="code of the library, bookmobile or bookmobile station that lent it (SIP2"
        " AP or the tenant's vendor field, Koha checkout library_id, FOLIO checkout service"
        " point)",
    )
    bookmobile: str | None = Field(
        None, description="the bookmobile's code, when it was lent by a bookmobile (or at a stop)"
    )
    source: ItemSource = ItemSource.ILS

    @property
    def overdue(self) -> bool:
        """True when the loan is past its due date."""
        return self.state is LoanState.OVERDUE or self.days_overdue > 0

    @model_validator(mode="after")
    def _reason_only_when_not_renewable(self) -> Self:
        if self.renewable is not False and self.refusal_reason is not None:
            raise ValueError("only a loan that is not renewable carries a refusal_reason")
        if (self.renewable is None) != (self.renewable_unknown is not None):
            raise ValueError("renewable_unknown is given exactly when renewable is null")
        return self


class HoldSequenceInfo(_Frozen):
    """Where a hold sits in a hold sequence (順番予約): filled only after the one before it."""

    sequence_id: str
    position: int = Field(ge=1)
    length: int = Field(ge=1)


class Hold(_Frozen):
    """A reservation the patron has placed, in the canonical status vocabulary."""

    id: str
    item: Item = Field(description="the copy held, or the title for title-level holds")
    title_level: bool = True
    status: HoldStatus
    queue_position: int | None = Field(None, ge=1)
    pickup_library: str | None = Field(None, description="Library.code or BookmobileStation.code")
    contact_method: ContactMethod | None = None
    pickup_deadline: date | None = Field(None, description="取置期限, once ready")
    next_opening_day: date | None = Field(
        None,
        description="a ready hold: the first day from today on that the library opens, to"
        " collect it (from the tenant's calendar; null without one)",
    )
    created: date | None = None
    expires: date | None = Field(None, description="date the request lapses if not filled")
    suspended_until: date | None = None
    backend_status: str | None = Field(None, description="the backend's own status text")
    allowed_actions: frozenset[HoldAction] = frozenset()
    source: ItemSource = ItemSource.ILS
    sequence: HoldSequenceInfo | None = None
    pickup_extended: bool = False
    cancellation_requested: bool = Field(
        False, description="the patron asked to cancel; the hold stays until staff act"
    )
    ended_by: HoldEndedBy | None = Field(
        None,
        description="a cancelled hold: whether the patron or the library cancelled it, where"
        " the library system says (an expired one lapsed by the library's deadline)",
    )
    ended_at: datetime | None = Field(
        None, description="when a cancelled or expired hold ended, where the library system says"
    )

    @property
    def material_type(self) -> MaterialType:
        """Material type of the item held (what hold limits count by)."""
        return self.item.material_type


class ItemResult(_Frozen):
    """How one item of a multi-item operation ended: ok, refused with a reason, or an error."""

    item_id: str
    outcome: Outcome
    reason: RefusalReason | None = None
    backend_message: str | None = None
    error_type: str | None = Field(None, description="GatewayError.type_slug when outcome=error")
    detail: str | None = Field(None, description="patron-readable explanation")

    @model_validator(mode="after")
    def _fields_match_outcome(self) -> Self:
        if (self.outcome is Outcome.REFUSED) != (self.reason is not None):
            raise ValueError("reason is required exactly when outcome is 'refused'")
        if (self.outcome is Outcome.ERROR) != (self.error_type is not None):
            raise ValueError("error_type is required exactly when outcome is 'error'")
        return self

    @classmethod
    def from_error(cls, item_id: str, error: GatewayError, **extra: Any) -> Self:
        """The result for ``item_id`` when its operation raised ``error``."""
        if isinstance(error, Refused):
            return cls(
                item_id=item_id,
                outcome=Outcome.REFUSED,
                reason=error.reason,
                backend_message=error.backend_message,
                detail=error.detail,
                **extra,
            )
        return cls(
            item_id=item_id,
            outcome=Outcome.ERROR,
            error_type=error.type_slug,
            detail=error.detail,
            **extra,
        )

    @property
    def ok(self) -> bool:
        """True when the operation succeeded for this item."""
        return self.outcome is Outcome.OK


class RenewalResult(ItemResult):
    """The result of renewing one loan; ``loan`` is the renewed loan when it succeeded."""

    loan: Loan | None = None

    @property
    def new_due_date(self) -> date | None:
        """The due date after a successful renewal."""
        return self.loan.due_date if self.loan is not None and self.ok else None


class HoldResult(ItemResult):
    """The result of placing one hold (e.g. from the basket); ``hold`` is set when placed."""

    hold: Hold | None = None


R = TypeVar("R", bound=ItemResult)


class BatchResult(_Frozen, Generic[R]):
    """Per-item results of one multi-item operation, in request order."""

    results: tuple[R, ...]
    completed_at: datetime | None = None

    @property
    def succeeded(self) -> tuple[R, ...]:
        """Results whose outcome is ok."""
        return tuple(r for r in self.results if r.outcome is Outcome.OK)

    @property
    def refused(self) -> tuple[R, ...]:
        """Results the library refused."""
        return tuple(r for r in self.results if r.outcome is Outcome.REFUSED)

    @property
    def failed(self) -> tuple[R, ...]:
        """Results that ended in an error."""
        return tuple(r for r in self.results if r.outcome is Outcome.ERROR)
