"""The port every e-library adapter implements, beside ``adapters.base.ILSBackend``.

Methods take a patron's normalised card number (the e-library identifies patrons by it; the
gateway has already authenticated them) and return ``domain.ebooks`` models. The contract is
the ILS port's: a refusal raises a ``Refused`` subclass with a ``RefusalReason`` and the
e-library's own message (``Refused`` for borrow and return, ``HoldRefused`` for placing a hold,
``CancelRefused`` for cancelling one); an unknown title, hold or loan raises ``NotFound``; an
unreachable e-library ``BackendUnavailable``; a malformed answer ``BackendProtocolError``; a
write whose fate is unknown ``OutcomeUnknown``. Adapters never retry writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle


@runtime_checkable
class ElibraryBackend(Protocol):
    """Loans, holds and title availability of one library's e-library."""

    async def list_loans(self, card_number: str) -> list[EbookLoan]:
        """The patron's current e-book loans, earliest due first."""
        ...

    async def list_holds(self, card_number: str) -> list[EbookHold]:
        """The patron's e-book holds (waiting or ready), in the order placed."""
        ...

    async def place_hold(
        self, card_number: str, title_id: str, *, email: str | None = None
    ) -> EbookHold:
        """Queue the patron for the title; ``email`` gets the e-library's "ready" mail."""
        ...

    async def cancel_hold(self, card_number: str, title_id: str) -> None:
        """Withdraw the patron's hold on the title (waiting or ready)."""
        ...

    async def borrow(self, card_number: str, title_id: str) -> EbookLoan:
        """Lend the title: a free copy, or the copy kept for the patron's ready hold."""
        ...

    async def return_loan(self, card_number: str, title_id: str) -> None:
        """Return the patron's loan of the title before it returns itself."""
        ...

    async def get_title(self, title_id: str) -> EbookTitle:
        """One title with its availability now."""
        ...

    async def get_titles(self, title_ids: Sequence[str]) -> list[EbookTitle]:
        """Titles with availability, for the ids the e-library knows (others left out)."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
