"""The e-library: the test patron's e-book loans and holds, title lookup, unknown titles."""

from __future__ import annotations

import pytest

from ils_gateway.contract.session import ContractSession
from ils_gateway.domain.ebooks import EbookHold, EbookLoan
from ils_gateway.domain.errors import NotFound
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.elibrary.base import ElibraryBackend

NO_SUCH_TITLE = "CONTRACT-TEST-NO-SUCH-TITLE"


def test_ebook_loans_well_formed(
    contract: ContractSession, elibrary: ElibraryBackend, patron: Patron
) -> None:
    """Every e-book loan has a title and a due instant after it was borrowed"""
    loans = contract.run(elibrary.list_loans(patron.card_number))
    problems = []
    for loan in loans:
        EbookLoan.model_validate(loan.model_dump())
        if loan.due <= loan.borrowed:
            problems.append(f"e-book {loan.title.id!r} is due before it was borrowed")
    assert not problems, "; ".join(problems)


def test_ebook_holds_well_formed(
    contract: ContractSession, elibrary: ElibraryBackend, patron: Patron
) -> None:
    """Every e-book hold is waiting (with a queue position) or ready"""
    holds = contract.run(elibrary.list_holds(patron.card_number))
    problems = []
    for hold in holds:
        EbookHold.model_validate(hold.model_dump())
        if hold.status not in (HoldStatus.WAITING, HoldStatus.READY):
            problems.append(f"e-book hold on {hold.title.id!r} is {hold.status.value}")
    assert not problems, "; ".join(problems)


def test_ebook_title_lookup(
    contract: ContractSession, elibrary: ElibraryBackend, patron: Patron
) -> None:
    """Titles the patron borrows or holds can be looked up"""
    loans = contract.run(elibrary.list_loans(patron.card_number))
    holds = contract.run(elibrary.list_holds(patron.card_number))
    ids = [x.title.id for x in [*loans, *holds]][:3]
    if not ids:
        pytest.skip("the test patron has no e-book loans or holds to look up")
    for title_id in ids:
        title = contract.run(elibrary.get_title(title_id))
        assert title.id == title_id, f"asked for title {title_id!r}, got {title.id!r}"


def test_unknown_ebook_title_not_found(
    contract: ContractSession, elibrary: ElibraryBackend
) -> None:
    """A title id the e-library does not have is reported as not found"""
    with pytest.raises(NotFound):
        contract.run(elibrary.get_title(NO_SUCH_TITLE))
