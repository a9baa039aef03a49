"""Sip2Backend against the SIP2 simulator over real TCP (127.0.0.1, port 0)."""

from __future__ import annotations

from datetime import date

import pytest

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.errors import AuthenticationFailed
from ils_gateway.domain.models import Patron
from ils_gateway.domain.vocab import BlockReason, HoldStatus, LoanState, RefusalReason
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
    pending = holds["title:" + by_state["pending"].title]
    assert pending.status is HoldStatus.WAITING
    assert pending.title_level
    assert all(isinstance(h.pickup_deadline, date | None) for h in holds.values())
