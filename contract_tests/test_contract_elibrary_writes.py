"""E-library write checks (only with --allow-writes): hold an e-book and cancel it, borrow one
and return it, each undone afterwards.

The titles are the operator's ``--ebook`` ids: the first is held, so it must have every copy
out on loan (an e-library takes no hold on a title it could lend now); the last is borrowed,
so it must have a copy free.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ils_gateway.contract.session import ContractSession
from ils_gateway.contract.target import ContractTarget
from ils_gateway.domain.ebooks import EbookHold
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.elibrary.base import ElibraryBackend


def _title_id(target: ContractTarget, which: int) -> str:
    if not target.allow_writes:
        pytest.skip("read-only run (add --allow-writes with a test patron and --ebook titles)")
    if not target.ebooks:
        pytest.skip("no test e-book given (--ebook TITLE_ID)")
    return target.ebooks[which]


@dataclass
class EbookHoldTrial:
    """The e-book hold the checks placed (or why it could not be placed)."""

    title_id: str
    hold: EbookHold | None = None
    error: BaseException | None = None
    cancelled: bool = False


@pytest.fixture(scope="module")
def ebook_hold_trial(
    contract: ContractSession, elibrary: ElibraryBackend, patron: Patron
) -> Iterator[EbookHoldTrial]:
    target = contract.target
    title_id = _title_id(target, 0)
    title = contract.run(elibrary.get_title(title_id))
    if title.can_borrow_now:
        pytest.skip(
            f"e-book {title_id} has a copy free, and an e-library holds only titles with every "
            "copy out: give one as the first --ebook"
        )
    trial = EbookHoldTrial(title_id)
    try:
        trial.hold = contract.run(elibrary.place_hold(patron.card_number, title_id))
    except Exception as error:
        trial.error = error
    yield trial
    if trial.hold is not None and not trial.cancelled:
        what = f"e-book hold on {title_id}"
        try:
            contract.run(elibrary.cancel_hold(patron.card_number, title_id))
        except GatewayError as error:
            target.undo.record("elibrary writes: hold", what, undone=False, note=error.detail)
            raise
        target.undo.record("elibrary writes: hold", what, undone=True)


def _held_ids(contract: ContractSession, elibrary: ElibraryBackend, patron: Patron) -> set[str]:
    return {h.title.id for h in contract.run(elibrary.list_holds(patron.card_number))}


def test_place_ebook_hold(
    contract: ContractSession,
    elibrary: ElibraryBackend,
    patron: Patron,
    ebook_hold_trial: EbookHoldTrial,
) -> None:
    """An e-book with every copy out is held for the patron, waiting, and listed"""
    if ebook_hold_trial.error is not None:
        raise ebook_hold_trial.error
    hold = ebook_hold_trial.hold
    assert hold is not None
    title_id = ebook_hold_trial.title_id
    assert hold.title.id == title_id, f"held {title_id!r}, the e-library answered {hold.title.id!r}"
    assert hold.status is HoldStatus.WAITING, f"a hold on a title all out is {hold.status.value}"
    assert title_id in _held_ids(contract, elibrary, patron), (
        f"the new hold on {title_id} is not in the patron's e-book holds"
    )


def test_cancel_ebook_hold(
    contract: ContractSession,
    elibrary: ElibraryBackend,
    patron: Patron,
    ebook_hold_trial: EbookHoldTrial,
) -> None:
    """The new e-book hold is cancelled and no longer listed"""
    if ebook_hold_trial.hold is None:
        pytest.skip("no e-book hold was placed (see the place e-book hold check)")
    title_id = ebook_hold_trial.title_id
    contract.run(elibrary.cancel_hold(patron.card_number, title_id))
    ebook_hold_trial.cancelled = True
    contract.target.undo.record(
        "elibrary writes: hold", f"e-book hold on {title_id} placed", undone=True
    )
    assert title_id not in _held_ids(contract, elibrary, patron), (
        f"cancelled, but the hold on {title_id} is still listed"
    )


def test_borrow_and_return_ebook(
    contract: ContractSession, elibrary: ElibraryBackend, patron: Patron
) -> None:
    """An e-book with a copy free is lent to the patron, listed as a loan, then returned"""
    target = contract.target
    title_id = _title_id(target, -1)
    if not contract.run(elibrary.get_title(title_id)).can_borrow_now:
        pytest.skip(f"e-book {title_id} has no copy free: give one as the last --ebook")
    card = patron.card_number
    loan = contract.run(elibrary.borrow(card, title_id))
    try:
        assert loan.title.id == title_id, f"borrowed {title_id!r}, got {loan.title.id!r}"
        listed = {x.title.id for x in contract.run(elibrary.list_loans(card))}
        assert title_id in listed, f"e-book {title_id} borrowed but not in the loan list"
    finally:
        what = f"e-book {title_id} lent"
        try:
            contract.run(elibrary.return_loan(card, title_id))
        except GatewayError as error:
            target.undo.record("elibrary writes: loan", what, undone=False, note=error.detail)
            raise
        target.undo.record("elibrary writes: loan", what, undone=True)
    after = {x.title.id for x in contract.run(elibrary.list_loans(card))}
    assert title_id not in after, f"e-book {title_id} returned but still in the loan list"
