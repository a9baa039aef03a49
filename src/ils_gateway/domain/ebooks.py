"""Frozen models of the e-library side: licensed e-book titles, e-book loans and e-book holds.

An e-library (KinoDen-style) lends licensed copies: a title has a number of copies, a loan
ends by itself on its due instant, and a hold is only ever ``waiting`` (in the queue) or
``ready`` (a copy is kept for the patron until ``ready_until``). Instants are timezone-aware
``datetime``; the e-library, unlike an ILS, works to the minute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ils_gateway.domain.vocab import HoldStatus, ItemSource, MaterialType

__all__ = ["EbookAvailability", "EbookHold", "EbookLoan", "EbookTitle"]

# The only statuses an e-book hold has while it is listed; the e-library drops the rest.
EBOOK_HOLD_STATUSES = frozenset({HoldStatus.WAITING, HoldStatus.READY})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


def _aware(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


class EbookAvailability(_Frozen):
    """How many licensed copies of a title exist, are free now, and how many patrons wait."""

    copies_owned: int = Field(ge=0)
    copies_available: int = Field(ge=0, description="free to borrow now (not kept for a hold)")
    holds_waiting: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _available_within_owned(self) -> Self:
        if self.copies_available > self.copies_owned:
            raise ValueError("copies_available cannot exceed copies_owned")
        return self


class EbookTitle(_Frozen):
    """A title the e-library licenses, with its availability when the e-library gave it."""

    id: str = Field(min_length=1, description="the e-library's title id")
    title: str
    author: str | None = None
    publisher: str | None = None
    isbn: str | None = None
    availability: EbookAvailability | None = None

    material_type: MaterialType = MaterialType.EBOOK
    source: ItemSource = ItemSource.EBOOK

    @property
    def can_borrow_now(self) -> bool:
        """True when the e-library said a copy is free (False when it did not say)."""
        return self.availability is not None and self.availability.copies_available > 0


class EbookLoan(_Frozen):
    """An e-book the patron is borrowing; it returns itself at ``due``."""

    title: EbookTitle
    borrowed: datetime
    due: datetime
    returns_itself: bool = Field(True, description="auto return on the due instant")
    source: ItemSource = ItemSource.EBOOK

    @model_validator(mode="after")
    def _instants(self) -> Self:
        _aware(self.borrowed, "borrowed")
        _aware(self.due, "due")
        if self.due <= self.borrowed:
            raise ValueError("due must be after borrowed")
        return self


class EbookHold(_Frozen):
    """An e-book hold: ``waiting`` at ``queue_position``, or ``ready`` until ``ready_until``."""

    title: EbookTitle
    status: HoldStatus
    placed: datetime
    queue_position: int | None = Field(None, ge=1, description="1 = next copy is theirs")
    ready_since: datetime | None = None
    ready_until: datetime | None = Field(None, description="borrow before this, or it lapses")
    source: ItemSource = ItemSource.EBOOK

    @model_validator(mode="after")
    def _fields_match_status(self) -> Self:
        if self.status not in EBOOK_HOLD_STATUSES:
            raise ValueError(f"an e-book hold is waiting or ready, not {self.status}")
        for name in ("placed", "ready_since", "ready_until"):
            _aware(getattr(self, name), name)
        if self.status is HoldStatus.READY:
            if self.ready_until is None:
                raise ValueError("a ready hold needs ready_until")
            if self.queue_position is not None:
                raise ValueError("a ready hold has no queue position")
        elif self.ready_until is not None or self.ready_since is not None:
            raise ValueError("a waiting hold has no ready_since or ready_until")
        return self
