"""Request and response bodies of the patron API; the OpenAPI document is generated from these.

Domain models (``Loan``, ``Hold``, ``Item``, ``Library``, per-item results) are served as they
are; the wrappers here add what only the API knows (session token, staleness of a read).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    HoldResult,
    Item,
    Library,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.vocab import BlockReason, Channel, ContactMethod, ItemSource
from ils_gateway.services.ebooks.merge import EbookPart


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Body):
    """Card number (as the patron typed it) and password."""

    card_number: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128, repr=False)


class PasswordChangeRequest(_Body):
    """The current password and the new one (checked against the library's password rules)."""

    old_password: str = Field(min_length=1, max_length=128, repr=False)
    new_password: str = Field(min_length=1, max_length=128, repr=False)


class RenewManyRequest(_Body):
    """Loans to renew together (the "check several, one button" of the libraries' pages)."""

    item_ids: list[str] = Field(min_length=1, max_length=100)


class PlaceHoldsRequest(_Body):
    """Items to place holds on, all for one pickup library and contact method."""

    item_ids: list[str] = Field(min_length=1, max_length=100)
    pickup_library: str | None = Field(
        None, min_length=1, max_length=64, description="required for ILS items; not for e-books"
    )
    contact_method: ContactMethod | None = None
    source: ItemSource = Field(ItemSource.ILS, description="ebook: titles of the e-library")


class ChangeHoldRequest(_Body):
    """New pickup library and/or contact method (omit a field to keep it)."""

    pickup_library: str | None = Field(None, min_length=1, max_length=64)
    contact_method: ContactMethod | None = None


class PatronView(_Body):
    """The logged-in patron as the portal shows them (card masked)."""

    masked_card: str
    name: str
    category: str | None = None
    blocks: list[BlockReason] = []
    card_expires: date | None = None
    loans_count: int = 0
    overdue_count: int = 0
    holds_count: int = 0
    holds_ready_count: int = 0

    @classmethod
    def of(cls, patron: Patron) -> PatronView:
        """The view of ``patron``."""
        return cls(
            masked_card=patron.masked_card,
            name=patron.name,
            category=patron.category,
            blocks=list(patron.blocks),
            card_expires=patron.card_expires,
            loans_count=patron.loans_count,
            overdue_count=patron.overdue_count,
            holds_count=patron.holds_count,
            holds_ready_count=patron.holds_ready_count,
        )


class SessionCreated(_Body):
    """A new session: send ``token`` as ``Authorization: Bearer <token>`` from now on."""

    token: str = Field(repr=False)
    channel: Channel
    idle_timeout_minutes: int | None
    password_change_required: bool
    patron: PatronView


class PatronSummary(_Body):
    """The patron's summary; ``stale`` when served from the last good data."""

    patron: PatronView
    stale: bool = False
    as_of: datetime | None = None


class LoanList(_Body):
    """Current loans, each with whether it can be renewed now and why not."""

    loans: list[Loan]
    stale: bool = False
    as_of: datetime | None = None
    ebooks: EbookPart | None = Field(None, description="e-book part; None without e-books")


class HoldList(_Body):
    """Current holds, each with the actions allowed now."""

    holds: list[Hold]
    stale: bool = False
    as_of: datetime | None = None
    ebooks: EbookPart | None = Field(None, description="e-book part; None without e-books")


class LibraryList(_Body):
    """Pickup libraries (bookmobiles list their stations)."""

    libraries: list[Library]
    stale: bool = False
    as_of: datetime | None = None


class ItemView(_Body):
    """One item or title."""

    item: Item
    stale: bool = False
    as_of: datetime | None = None


class CancellationRequested(_Body):
    """A cancel the library took only as a request (202): the hold stays, ready on the hold
    shelf, until staff cancel it; it is not cancelled yet."""

    status: Literal["cancellation_requested"] = "cancellation_requested"
    label: str = Field(description="what to tell the patron (Japanese)")
    label_en: str


class Problem(BaseModel):
    """An RFC 9457 problem document (extension members vary by ``type``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class Health(_Body):
    """Liveness or readiness, with each tenant's backend state for readiness."""

    status: str
    tenants: dict[str, str] = {}


RenewalBatch = BatchResult[RenewalResult]
HoldBatch = BatchResult[HoldResult]
