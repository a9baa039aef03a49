"""Sip2Backend against the SIP2 simulator over real TCP (127.0.0.1, port 0)."""

from __future__ import annotations

from datetime import date

import pytest

from ils_gateway.adapters.base import CancelOutcome, Capability, ILSBackend
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    FeatureDisabled,
    HoldRefused,
    NotFound,
    RenewalRefused,
)
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import (
    BlockReason,
    ContactMethod,
    HoldStatus,
    LoanState,
    MaterialType,
    Outcome,
    RefusalReason,
)
from ils_gateway.simulators.library import SimulatedLibrary

HANAKO = ("1000000001", "hanako01")


async def login(backend: Sip2Backend, card: str, password: str) -> Patron:
    return await backend.authenticate(card, password)


def test_is_an_ils_backend(backend: Sip2Backend) -> None:
    assert isinstance(backend, ILSBackend)


async def test_capabilities_come_from_bx(backend: Sip2Backend) -> None:
    caps = backend.capabilities
    assert caps.supports(Capability.LIST_LOANS)
    assert caps.supports(Capability.CHANGE_HOLD_PICKUP)
    assert not caps.supports(Capability.SUSPEND_HOLD)


# --- authenticate ----------------------------------------------------------------------


async def test_authenticate_ok(backend: Sip2Backend) -> None:
    patron = await login(backend, *HANAKO)
    assert patron.id == patron.card_number == "1000000001"
    assert patron.name == "山田 花子"
    assert patron.blocks == ()
    assert patron.loans_count == 3
    assert patron.holds_ready_count == 1


async def test_bad_password(backend: Sip2Backend) -> None:
    with pytest.raises(AuthenticationFailed):
        await login(backend, "1000000001", "wrong")


async def test_unknown_card(backend: Sip2Backend) -> None:
    with pytest.raises(AuthenticationFailed):
        await login(backend, "1999999999", "hanako01")


async def test_blocked_patron_is_returned_with_blocks(backend: Sip2Backend) -> None:
    patron = await login(backend, "1000000002", "ken00002")
    assert BlockReason.OVERDUE_ITEMS in patron.blocks
    assert patron.is_blocked


async def test_expired_card(backend: Sip2Backend) -> None:
    patron = await login(backend, "1000000003", "ichiro03")
    assert patron.blocks == (BlockReason.CARD_EXPIRED,)
    assert patron.block_messages == ("利用カードの有効期限が切れています",)


async def test_card_unused_for_years(backend: Sip2Backend) -> None:
    patron = await login(backend, "1000000008", "kazuko08")
    assert patron.blocks == (BlockReason.CARD_UNUSED,)


async def test_patron_summary(backend: Sip2Backend) -> None:
    patron = await login(backend, "1000000011", "keiko011")
    fresh = await backend.patron_summary(patron)
    assert BlockReason.FINES in fresh.blocks


# --- loans -----------------------------------------------------------------------------


async def test_loans_with_due_dates_and_states(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await login(backend, *HANAKO)
    loans = await backend.list_loans(patron)
    expected = {v.barcode: v for v in library.loans("1000000001")}
    assert {loan.id for loan in loans} == set(expected)
    for loan in loans:
        view = expected[loan.id]
        assert loan.due_date == view.due
        assert loan.item.title == view.title
        assert loan.state is LoanState.ON_LOAN
    held = next(loan for loan in loans if loan.id == "2100000166")  # others wait for it
    assert not held.renewable and held.refusal_reason is RefusalReason.HAS_HOLDS


async def test_overdue_loans(backend: Sip2Backend, library: SimulatedLibrary) -> None:
    patron = await login(backend, "1000000005", "makoto05")
    loans = await backend.list_loans(patron)
    overdue = sorted(loan.days_overdue for loan in loans if loan.state is LoanState.OVERDUE)
    assert overdue == [5, 20]


# --- holds -----------------------------------------------------------------------------


async def test_holds_in_every_state_sip2_can_express(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await login(backend, *HANAKO)
    holds = {h.id: h for h in await backend.list_holds(patron)}
    views = library.holds("1000000001")
    assert len(holds) == len(views)
    by_state = {v.state.value: v for v in views}
    ready = holds[by_state["awaiting_pickup"].barcode]
    assert ready.status is HoldStatus.READY
    assert ready.pickup_deadline == by_state["awaiting_pickup"].deadline
    assert ready.pickup_library == by_state["awaiting_pickup"].pickup
    assert holds[by_state["transit"].barcode].status is HoldStatus.IN_TRANSIT
    assert holds[by_state["processing"].barcode].status is HoldStatus.PREPARING
    pending = holds[f"title:{by_state['pending'].biblio_id}"]
    assert pending.item.title == by_state["pending"].title
    assert pending.status is HoldStatus.WAITING
    assert pending.title_level
    assert all(isinstance(h.pickup_deadline, date | None) for h in holds.values())


# --- renewals --------------------------------------------------------------------------


async def test_renew_ok(backend: Sip2Backend, library: SimulatedLibrary) -> None:
    patron = await login(backend, *HANAKO)
    result = await backend.renew(patron, "2100000001")
    assert result.ok
    assert result.new_due_date == library.item_info("2100000001").due
    assert result.new_due_date is not None and result.new_due_date > date(2025, 6, 4)


@pytest.mark.parametrize(
    ("card", "password", "barcode", "reason", "message"),
    [
        (*HANAKO, "2100000166", RefusalReason.HAS_HOLDS, "他の方が予約しているため"),
        (*HANAKO, "2100000046", RefusalReason.RENEWAL_LIMIT, "延長回数の上限"),
        ("1000000005", "makoto05", "2100000045", RefusalReason.OVERDUE, "返却期限を過ぎて"),
        ("1000000009", "naoki009", "2100000089", RefusalReason.INTERLIBRARY_LOAN, "相互貸借"),
    ],
)
async def test_renew_refused(
    backend: Sip2Backend,
    library: SimulatedLibrary,
    card: str,
    password: str,
    barcode: str,
    reason: RefusalReason,
    message: str,
) -> None:
    patron = await login(backend, card, password)
    due_before = library.item_info(barcode).due
    with pytest.raises(RenewalRefused) as refused:
        await backend.renew(patron, barcode)
    assert refused.value.reason is reason
    assert refused.value.backend_message is not None
    assert message in refused.value.backend_message
    assert library.item_info(barcode).due == due_before


async def test_renew_many(backend: Sip2Backend) -> None:
    patron = await login(backend, *HANAKO)
    batch = await backend.renew_many(patron, ["2100000001", "2100000166", "2100000046"])
    assert [r.item_id for r in batch.results] == ["2100000001", "2100000166", "2100000046"]
    ok, held, limit = batch.results
    assert ok.outcome is Outcome.OK and ok.new_due_date is not None
    assert held.outcome is Outcome.REFUSED and held.reason is RefusalReason.HAS_HOLDS
    assert limit.outcome is Outcome.REFUSED and limit.reason is RefusalReason.RENEWAL_LIMIT
    assert limit.backend_message and "延長" in limit.backend_message


# --- hold writes -----------------------------------------------------------------------


async def test_place_change_and_cancel_a_hold(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await login(backend, *HANAKO)
    hold = await backend.place_hold(patron, "2100000060", "KITA")  # on loan to someone else
    assert hold.status is HoldStatus.WAITING
    assert hold.pickup_library == "KITA"
    biblio = library.item_info("2100000060").biblio_id
    view = next(v for v in library.holds("1000000001") if v.biblio_id == biblio)
    assert view.pickup == "KITA"

    changed = await backend.change_hold(patron, hold.id, pickup_library="MINAMI")
    assert changed.id == hold.id
    assert changed.pickup_library == "MINAMI"
    assert library.hold_by_id(view.hold_id).pickup == "MINAMI"

    assert await backend.cancel_hold(patron, hold.id) is CancelOutcome.CANCELLED
    assert library.hold_by_id(view.hold_id).state.value == "cancelled"


async def test_a_found_hold_the_library_keeps_is_only_requested(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    # the simulator answers 16 ok=1 for a ready hold's cancel and files a request for staff
    patron = await login(backend, *HANAKO)
    ready = next(h for h in await backend.list_holds(patron) if h.status is HoldStatus.READY)

    assert await backend.cancel_hold(patron, ready.id) is CancelOutcome.CANCELLATION_REQUESTED

    kept = next(v for v in library.holds("1000000001") if v.hold_id == 12)
    assert kept.cancellation_requested and kept.state.value == "awaiting_pickup"


async def test_place_hold_refused(backend: Sip2Backend) -> None:
    patron = await login(backend, *HANAKO)
    with pytest.raises(HoldRefused) as refused:
        await backend.place_hold(patron, "2100000001", "CEN")  # she is borrowing it
    assert refused.value.reason is RefusalReason.ALREADY_ON_LOAN
    assert refused.value.backend_message == "この資料は現在あなたが借りています"


async def test_cancel_unknown_hold(backend: Sip2Backend) -> None:
    patron = await login(backend, *HANAKO)
    with pytest.raises(NotFound):
        await backend.cancel_hold(patron, "2100000060")


async def test_change_contact_method_is_unavailable(backend: Sip2Backend) -> None:
    patron = await login(backend, *HANAKO)
    with pytest.raises(FeatureDisabled):
        await backend.change_hold(patron, "2100000068", contact_method=ContactMethod.EMAIL)


# --- items -----------------------------------------------------------------------------


async def test_item_lookup(backend: Sip2Backend) -> None:
    item = await backend.get_item("2100000148")
    assert item.title == "朗読 坊っちゃん"
    assert item.material_type is MaterialType.CASSETTE
    with pytest.raises(NotFound):
        await backend.get_item("0000000000")
