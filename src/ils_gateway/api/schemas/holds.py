"""Holds: the list, placing, changing, cancelling; skip and the cancelled-hold history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryId, LibraryValue
from ils_gateway.domain.models import BatchResult, Hold, HoldResult
from ils_gateway.domain.vocab import ContactMethod, ItemSource
from ils_gateway.services.ebooks.merge import EbookPart
from ils_gateway.services.mylists.records import CancelReason


class PlaceHoldsRequest(Body):
    """Items to place holds on, all for one pickup library and contact method."""

    item_ids: list[LibraryId] = Field(min_length=1, max_length=100)
    pickup_library: LibraryValue | None = Field(
        None, min_length=1, max_length=64, description="required for ILS items; not for e-books"
    )
    contact_method: ContactMethod | None = None
    source: ItemSource = Field(ItemSource.ILS, description="ebook: titles of the e-library")


class ChangeHoldRequest(Body):
    """New pickup library and/or contact method (omit a field to keep it)."""

    pickup_library: LibraryValue | None = Field(None, min_length=1, max_length=64)
    contact_method: ContactMethod | None = None


class HoldList(Body):
    """Current holds, each with the actions allowed now."""

    holds: list[Hold]
    stale: bool = False
    as_of: datetime | None = None
    ebooks: EbookPart | None = Field(None, description="e-book part; None without e-books")


class CancellationRequested(Body):
    """A cancel the library took only as a request (202): the hold stays, ready on the hold
    shelf, until staff cancel it; it is not cancelled yet."""

    status: Literal["cancellation_requested"] = "cancellation_requested"
    label: str = Field(description="what to tell the patron (Japanese)")
    label_en: str


HoldBatch = BatchResult[HoldResult]


class SkipRequest(Body):
    """Skip (suspend) a waiting hold until this day; it comes back at the top afterwards."""

    until: date


class CancelledHoldView(Body):
    """A hold the gateway saw cancelled or expired."""

    hold_id: str
    title: str
    reason: CancelReason
    at: datetime
    cancelled_by: Literal["patron", "library"] | None = Field(
        None,
        description="who cancelled it, where known: the patron (through the gateway or, where"
        " the library system says, elsewhere) or the library; an expired hold: the library's"
        " pickup deadline passed. Library cancellations are listed where the library system"
        " reports ended holds (FOLIO closed requests); SIP2 and Koha's REST API do not.",
    )


class CancelledHoldList(Body):
    """Cancelled and expired holds within the library's retention period, newest first."""

    entries: list[CancelledHoldView]
    retention_days: int | None
    deletable: bool
