"""Write checks (only with --allow-writes): renew, hold lifecycle, checkout and checkin.

Each change is undone where the backend allows it (a hold is cancelled, a checkout checked
in); what cannot be undone (a renewal uses up one of the patron's renewals) is listed at the
end of the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.contract.session import ContractSession
from ils_gateway.contract.target import ContractTarget
from ils_gateway.domain.errors import FeatureDisabled, GatewayError, Refused
from ils_gateway.domain.models import Hold, Patron
from ils_gateway.domain.vocab import HoldAction, HoldStatus, LoanState


def _require(target: ContractTarget, capability: Capability) -> None:
    if not target.allow_writes:
        pytest.skip("read-only run (add --allow-writes with a test patron and items)")
    if not target.ils.capabilities.supports(capability):
        pytest.skip(f"the backend declares {capability.value} unavailable")


def test_renew(contract: ContractSession, patron: Patron) -> None:
    """A renewable loan renews, and the due date moves later (read back from the loan list)"""
    target = contract.target
    _require(target, Capability.RENEW)
    loans = contract.run(target.ils.list_loans(patron))
    renewable = [loan for loan in loans if loan.renewable is True][:1]
    # Where the backend does not say (plain SIP2: no renewal count), only asking tells: a
    # refusal of such a loan is a fair answer, and the next one is tried.
    unknown = [loan for loan in loans if loan.renewable is None]
    result = None
    for loan in renewable or unknown:
        try:
            result = contract.run(target.ils.renew(patron, loan.item.id))
        except Refused:
            if renewable:
                raise
            continue
        if result.ok or renewable:
            break
    if result is None or (not renewable and not result.ok):
        pytest.skip("the test patron has no loan the backend renews")
    new_due = result.new_due_date
    target.undo.record(
        "writes: renew",
        f"loan of item {loan.item.id} renewed (due {loan.due_date} -> {new_due})",
        undone=False,
        note="a renewal cannot be taken back",
    )
    assert result.ok, f"renewal answered {result.outcome.value}: {result.backend_message}"
    assert new_due is not None, "renewal reported success without the renewed loan"
    assert new_due > loan.due_date, (
        f"renewal reported success but the due date did not move ({loan.due_date} -> {new_due})"
    )
    after = {x.item.id: x for x in contract.run(target.ils.list_loans(patron))}
    listed = after.get(loan.item.id)
    assert listed is not None, f"item {loan.item.id} is no longer on loan after renewing"
    assert listed.due_date == new_due, (
        f"renewal said due {new_due}, the loan list says {listed.due_date}"
    )


@dataclass
class HoldTrial:
    """The hold the lifecycle checks placed (or why it could not be placed)."""

    pickup: str
    other_pickup: str | None
    hold: Hold | None = None
    error: BaseException | None = None
    cancelled: bool = False


def _pickups(contract: ContractSession) -> list[str]:
    try:
        libraries = contract.pickup_libraries()
    except FeatureDisabled:
        return []
    return [lib.code for lib in libraries if not lib.is_bookmobile_stop]


@pytest.fixture(scope="module")
def hold_trial(contract: ContractSession, patron: Patron) -> Iterator[HoldTrial]:
    target = contract.target
    _require(target, Capability.PLACE_HOLD)
    if not target.items:
        pytest.skip("no test item given (--item BARCODE)")
    pickups = _pickups(contract)
    if not pickups:
        pytest.skip("no pickup library listed (see the pickup libraries check)")
    trial = HoldTrial(pickups[0], pickups[1] if len(pickups) > 1 else None)
    try:
        trial.hold = contract.run(target.ils.place_hold(patron, target.items[0], trial.pickup))
    except Exception as error:
        trial.error = error
    yield trial
    if trial.hold is not None and not trial.cancelled:
        what = f"hold {trial.hold.id} on item {target.items[0]}"
        try:
            contract.run(target.ils.cancel_hold(patron, trial.hold.id))
        except GatewayError as error:
            target.undo.record("writes: hold", what, undone=False, note=error.detail)
            raise
        target.undo.record("writes: hold", what, undone=True)


def _placed(trial: HoldTrial) -> Hold:
    if trial.hold is None:
        pytest.skip("no hold was placed (see the place hold check)")
    return trial.hold


def test_place_hold(contract: ContractSession, patron: Patron, hold_trial: HoldTrial) -> None:
    """A hold is placed on the test item and listed, active, at the chosen pickup library"""
    if hold_trial.error is not None:
        raise hold_trial.error
    hold = _placed(hold_trial)
    assert hold.status.is_active, f"a new hold is {hold.status.value}"
    listed = {h.id: h for h in contract.run(contract.target.ils.list_holds(patron))}
    assert hold.id in listed, f"the new hold {hold.id} is not in the patron's hold list"
    # SIP2 lists no pickup library for a hold not yet ready: only a named one must agree.
    assert listed[hold.id].pickup_library in (None, hold_trial.pickup), (
        f"placed for {hold_trial.pickup}, listed for {listed[hold.id].pickup_library}"
    )


def test_change_pickup(contract: ContractSession, patron: Patron, hold_trial: HoldTrial) -> None:
    """The new hold moves to another pickup library, and the list says so"""
    hold = _placed(hold_trial)
    _require(contract.target, Capability.CHANGE_HOLD_PICKUP)
    if hold_trial.other_pickup is None:
        pytest.skip("only one pickup library is listed")
    # An adapter that leaves allowed actions to the gateway's services (SIP2) lists none.
    movable = (
        HoldAction.CHANGE_PICKUP in hold.allowed_actions
        if hold.allowed_actions
        else hold.status is HoldStatus.WAITING
    )
    if not movable:
        pytest.skip(f"the hold is {hold.status.value}; the backend allows no pickup change now")
    other = hold_trial.other_pickup
    changed = contract.run(contract.target.ils.change_hold(patron, hold.id, pickup_library=other))
    assert changed.pickup_library == other, f"asked for {other}, got {changed.pickup_library}"
    listed = {h.id: h for h in contract.run(contract.target.ils.list_holds(patron))}
    assert listed.get(hold.id) is not None, "the hold vanished after changing its pickup library"
    assert listed[hold.id].pickup_library in (None, other), (
        f"change answered {other}, the list says {listed[hold.id].pickup_library}"
    )


def test_cancel_hold(contract: ContractSession, patron: Patron, hold_trial: HoldTrial) -> None:
    """The new hold is cancelled and no longer listed as active"""
    hold = _placed(hold_trial)
    _require(contract.target, Capability.CANCEL_HOLD)
    ils = contract.target.ils
    before = [h for h in contract.run(ils.list_holds(patron)) if h.status.is_active]
    contract.run(ils.cancel_hold(patron, hold.id))
    hold_trial.cancelled = True
    contract.target.undo.record("writes: hold", f"hold {hold.id} placed", undone=True)
    after = [h for h in contract.run(ils.list_holds(patron)) if h.status.is_active]
    still = next((h for h in after if h.id == hold.id), None)
    assert still is None, f"cancelled, but the hold is still listed as {still.status.value}"
    # Counted too: a hold listed under another id than the one placed would pass the above.
    assert len(after) == len(before) - 1, (
        f"cancel answered ok, but the patron's active holds went from {len(before)} to {len(after)}"
    )


def test_checkout_checkin(contract: ContractSession, patron: Patron) -> None:
    """The test item is lent to the patron, listed as a loan, then returned"""
    target = contract.target
    _require(target, Capability.CHECKOUT)
    _require(target, Capability.CHECKIN)
    if not target.items:
        pytest.skip("no test item given (--item BARCODE)")
    item_id = target.items[-1]
    loan = contract.run(target.ils.checkout(patron, item_id))
    try:
        assert loan.state is LoanState.ON_LOAN, f"a new loan is {loan.state.value}"
        listed = [x.item.id for x in contract.run(target.ils.list_loans(patron))]
        assert item_id in listed, f"item {item_id} checked out but not in the loan list"
    finally:
        try:
            contract.run(target.ils.checkin(item_id))
        except GatewayError as error:
            target.undo.record(
                "writes: checkout", f"item {item_id} lent", undone=False, note=error.detail
            )
            raise
        target.undo.record("writes: checkout", f"item {item_id} lent", undone=True)
    after = [x.item.id for x in contract.run(target.ils.list_loans(patron))]
    assert item_id not in after, f"item {item_id} checked in but still in the loan list"
