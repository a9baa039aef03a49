"""How to tell, by reading the patron's loans or holds again, whether a write happened.

A write that timed out after sending (``OutcomeUnknown``) may or may not have reached the
library system. Each function here compares what the backend lists now with what the write
would have changed, and answers ``True`` (it happened), ``False`` (it certainly did not) or
``None`` (cannot tell). Only ``False`` allows trying the write once more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import date
from typing import Any

from ils_gateway.adapters.base import CancelOutcome
from ils_gateway.domain.errors import AuthenticationFailed
from ils_gateway.domain.models import Hold, Item, Loan, Patron
from ils_gateway.domain.vocab import ContactMethod, HoldStatus


def find_loan(loans: Iterable[Loan], item_id: str) -> Loan | None:
    """The loan of ``item_id`` (by item id, the copy's barcode where the id is another, or
    loan id where the backend has one), if any."""
    return next(
        (
            loan
            for loan in loans
            if item_id in (loan.item.id, loan.id) or (item_id and loan.item.barcode == item_id)
        ),
        None,
    )


def find_hold(holds: Iterable[Hold], hold_id: str) -> Hold | None:
    """The hold with ``hold_id``, if listed."""
    return next((hold for hold in holds if hold.id == hold_id), None)


def loan_baseline(loans: Iterable[Loan] | None, item_id: str) -> dict[str, Any]:
    """What a renewal or checkout of ``item_id`` is later compared with (JSON-ready):
    ``known`` (the loans could be read), and the loan's due date and renewal count, if lent."""
    if loans is None:
        return {"known": False}
    loan = find_loan(loans, item_id)
    if loan is None:
        return {"known": True, "loan": None}
    mark = {"due_date": loan.due_date.isoformat(), "renewals_used": loan.renewals_used}
    return {"known": True, "loan": mark}


def renewed(before: Mapping[str, Any] | None, after: Loan | None) -> bool | None:
    """Did a renewal happen since ``before`` (``loan_baseline``'s mark of the same loan)?

    The due date moved later, or the renewal count went up (where the backend counts).
    """
    if before is None or after is None:
        return None  # not on loan before, or returned since: cannot tell
    due = date.fromisoformat(before["due_date"])
    used_before = before.get("renewals_used", 0)
    return after.due_date > due or (
        after.renewals_used is not None
        and used_before is not None
        and after.renewals_used > int(used_before)
    )


def lent(before: Mapping[str, Any] | None, after: Loan | None) -> bool | None:
    """Did a checkout happen since ``before``: the loan is listed now (new, or renewed when
    the patron had the item already)."""
    if after is None:
        return False
    if before is None:
        return True
    return renewed(before, after)


# An item's circulation status while it is on loan, as the adapters word it (SIP2's 18
# "charged", Koha "checked_out", FOLIO "Checked out"), normalised.
_ON_LOAN = frozenset({"charged", "checked_out"})


def on_loan(item: Item | None) -> bool | None:
    """Whether ``item`` is on loan now (None: unknown, no status given)."""
    if item is None or not item.circulation_status:
        return None
    key = item.circulation_status.strip().lower().replace(" ", "_").replace("-", "_")
    return key in _ON_LOAN


def item_baseline(item: Item | None) -> dict[str, Any]:
    """What a check-in of ``item`` is later compared with: whether it was on loan."""
    return {"on_loan": on_loan(item)}


def returned(before: Mapping[str, Any], after: Item | None) -> bool | None:
    """Did a check-in happen since ``before`` (``item_baseline``): the copy was on loan and is
    no longer. A copy that was not on loan (or whose status is not given) cannot tell."""
    if before.get("on_loan") is not True:
        return None
    now = on_loan(after)
    return None if now is None else not now


def hold_placed(
    before: Collection[str], after: Iterable[Hold], item_id: str, title: str | None
) -> tuple[bool | None, Hold | None]:
    """Was a hold on ``item_id`` placed since ``before`` (the hold ids listed then)?

    The new hold is listed under the copy's id, or, title-level, under the record (SIP2
    ``title:51``, Koha ``biblio:51``, a FOLIO instance) with the copy's ``title`` (learnt from
    the item information). Another new title-level hold could still be this one (its title
    written differently, or no title to compare): cannot tell, rather than send it twice.
    Only new copy-level holds on other copies leave "it did not happen".
    """
    known = set(before)
    new = [h for h in after if h.id not in known and h.status.is_active]
    for hold in new:
        if hold.item.id == item_id:
            return True, hold
    if title:
        for hold in new:
            if hold.item.title == title:
                return True, hold
    if any(h.title_level for h in new):
        return None, None
    return False, None


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
    """True when the hold now has the pickup library and contact method asked for; None when
    the list does not say (a SIP2 hold list carries no pickup library for waiting title-level
    holds): "not listed" is not "not changed"."""
    if hold is None:
        return None
    if (pickup_library is not None and hold.pickup_library is None) or (
        contact_method is not None and hold.contact_method is None
    ):
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


async def password_changed(
    login: Callable[[str], Awaitable[Patron]], old_password: str, new_password: str
) -> tuple[bool | None, None]:
    """Did a password change happen: the new password logs in (True), else the old one does
    (False: it certainly did not), else neither (None: cannot tell)."""
    for password, happened in ((new_password, True), (old_password, False)):
        try:
            await login(password)
        except AuthenticationFailed:
            continue
        return happened, None
    return None, None
