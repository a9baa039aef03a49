"""How to tell, by reading the patron's loans or holds again, whether a write happened.

A write that timed out after sending (``OutcomeUnknown``) may or may not have reached the
library system. Each function here compares what the backend lists now with what the write
would have changed, and answers ``True`` (it happened), ``False`` (it certainly did not) or
``None`` (cannot tell). Only ``False`` allows trying the write once more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ils_gateway.adapters.base import CancelOutcome
from ils_gateway.domain.models import Hold, Loan
from ils_gateway.domain.vocab import ContactMethod, HoldStatus


def find_loan(loans: Iterable[Loan], item_id: str) -> Loan | None:
    """The loan of ``item_id`` (by item id, or loan id where the backend has one), if any."""
    return next((loan for loan in loans if item_id in (loan.item.id, loan.id)), None)


def find_hold(holds: Iterable[Hold], hold_id: str) -> Hold | None:
    """The hold with ``hold_id``, if listed."""
    return next((hold for hold in holds if hold.id == hold_id), None)


def renewed(before: Loan | None, after: Loan | None) -> bool | None:
    """Did a renewal happen between ``before`` and ``after`` (the same loan, read twice)?"""
    if before is None or after is None:
        return None  # not on loan before, or returned since: cannot tell
    return after.due_date > before.due_date or after.renewals_used > before.renewals_used


def new_hold_for(before: Iterable[Hold], after: Iterable[Hold], item_id: str) -> Hold | None:
    """A hold on ``item_id`` listed now that was not listed before (the one just placed)."""
    known = {hold.id for hold in before}
    return next(
        (h for h in after if h.id not in known and h.item.id == item_id and h.status.is_active),
        None,
    )


def cancelled(hold: Hold | None) -> bool:
    """True when a hold is gone from the list or no longer active."""
    return hold is None or not hold.status.is_active


def cancel_outcome(hold: Hold | None) -> CancelOutcome | None:
    """What a cancel of ``hold`` (read back now) did: cancelled it, filed a cancellation
    request (the hold still listed, marked so), or nothing yet (None)."""
    if cancelled(hold):
        return CancelOutcome.CANCELLED
    if hold is not None and hold.cancellation_requested:
        return CancelOutcome.CANCELLATION_REQUESTED
    return None


def changed_as_asked(
    hold: Hold | None, pickup_library: str | None, contact_method: ContactMethod | None
) -> bool | None:
    """True when the hold now has the pickup library and contact method asked for."""
    if hold is None:
        return None
    return (pickup_library is None or hold.pickup_library == pickup_library) and (
        contact_method is None or hold.contact_method == contact_method
    )


def suspended_as_asked(hold: Hold | None, until: date | None) -> bool | None:
    """True when the hold is suspended until ``until``."""
    if hold is None:
        return None
    return hold.status is HoldStatus.SUSPENDED and hold.suspended_until == until


def resumed(hold: Hold | None) -> bool | None:
    """True when the hold is no longer suspended."""
    if hold is None:
        return None
    return hold.status is not HoldStatus.SUSPENDED
