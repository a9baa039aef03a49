"""E-book titles, loans and holds; the e-library's patron check."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.api.schemas.common import Body, LibraryValue
from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.labels import Labels


class BorrowRequest(Body):
    """The title to borrow (a free copy, or the copy kept for the patron's ready hold)."""

    title_id: LibraryValue = Field(min_length=1, max_length=64)


class EbookHoldRequest(Body):
    """The title to reserve; ``email`` gets the e-library's "ready" mail (default: on file)."""

    title_id: LibraryValue = Field(min_length=1, max_length=64)
    email: str | None = Field(None, max_length=254)


class PatronCheckRequest(BaseModel):
    """The e-library's question, in its own (camelCase) words."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cardNumber: LibraryValue = Field(min_length=1, max_length=64)  # the e-library's field name
    password: LibraryValue = Field(min_length=1, max_length=128, repr=False)


class PatronCheckResponse(BaseModel):
    """Yes/no, and the patron category when yes; nothing says why a check failed."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    patronCategory: str | None = Field(None, description="only when valid")  # e-library's name


class EbookTitleList(Body):
    """The titles the e-library knows among those asked for, with availability."""

    titles: list[EbookTitle]


class EbookTitleView(Body):
    """One title with copies owned, free, and holds waiting."""

    title: EbookTitle


class EbookLoanList(Body):
    """The patron's e-book loans with their due instants (they return themselves then)."""

    loans: list[EbookLoan]


class EbookHoldView(EbookHold):
    """An e-book hold with the tenant's label for its status."""

    status_label: str

    @classmethod
    def of(cls, hold: EbookHold, labels: Labels) -> EbookHoldView:
        """The view of ``hold`` with ``labels``' word for its status."""
        return cls(**dict(hold), status_label=labels.label(hold.status))


class EbookHoldList(Body):
    """The patron's e-book holds (waiting or ready), in the order placed."""

    holds: list[EbookHoldView]
