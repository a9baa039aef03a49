"""Loans: the list (with the e-book part) and renewals."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryId
from ils_gateway.domain.models import BatchResult, Loan, RenewalResult
from ils_gateway.services.ebooks.merge import EbookPart


class RenewManyRequest(Body):
    """Loans to renew together (the "check several, one button" of the libraries' pages)."""

    item_ids: list[LibraryId] = Field(min_length=1, max_length=100)


class LoanList(Body):
    """Current loans, each with whether it can be renewed now and why not."""

    loans: list[Loan]
    stale: bool = False
    as_of: datetime | None = None
    ebooks: EbookPart | None = Field(None, description="e-book part; None without e-books")


RenewalBatch = BatchResult[RenewalResult]
