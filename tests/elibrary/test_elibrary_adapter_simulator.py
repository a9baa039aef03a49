"""The KinoDen adapter against the simulator over real HTTP: every operation of the port."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ils_gateway.domain.errors import (
    BackendUnavailable,
    CancelRefused,
    HoldRefused,
    NotFound,
    PatronBlocked,
    Refused,
)
from ils_gateway.domain.vocab import BlockReason, HoldStatus, ItemSource, RefusalReason
from ils_gateway.elibrary.base import ElibraryBackend
from ils_gateway.simulators.elibrary import JST, SimTitle

ALICE = "0012345678"
BOB = "0087654321"
CAROL = "0055555555"

ONE_COPY = (SimTitle(id="KD1", title="こころ", author="夏目漱石", copies=1),)
TITLES = (
    *ONE_COPY,
    SimTitle(id="KD2", title="羅生門", author="芥川龍之介", copies=2),
    SimTitle(id="KD3", title="檸檬", copies=0),
)


async def test_backend_satisfies_the_port(make_elibrary):
    lib = await make_elibrary()
    assert isinstance(lib.backend, ElibraryBackend)


async def test_titles_and_availability(make_elibrary):
    lib = await make_elibrary(titles=TITLES)
    title = await lib.backend.get_title("KD2")
    assert (title.id, title.title, title.author) == ("KD2", "羅生門", "芥川龍之介")
    assert title.source is ItemSource.EBOOK
    assert title.availability is not None
    assert (title.availability.copies_owned, title.availability.copies_available) == (2, 2)
    assert title.can_borrow_now

    found = await lib.backend.get_titles(["KD3", "nope", "KD1"])
    assert [t.id for t in found] == ["KD3", "KD1"]
    assert not found[0].can_borrow_now
    assert await lib.backend.get_titles([]) == []

    with pytest.raises(NotFound):
        await lib.backend.get_title("nope")


async def test_borrow_list_and_return_early(make_elibrary, clock):
    lib = await make_elibrary(titles=TITLES)
    loan = await lib.backend.borrow(ALICE, "KD2")
    assert loan.title.id == "KD2"
    assert loan.borrowed == clock()
    assert loan.due == clock() + timedelta(days=15)
    assert loan.returns_itself

    clock.advance(timedelta(hours=1))
    await lib.backend.borrow(ALICE, "KD1")
    loans = await lib.backend.list_loans(ALICE)
    assert [x.title.id for x in loans] == ["KD2", "KD1"]  # earliest due first
    assert (await lib.backend.get_title("KD2")).availability.copies_available == 1

    await lib.backend.return_loan(ALICE, "KD2")
    assert [x.title.id for x in await lib.backend.list_loans(ALICE)] == ["KD1"]
    assert (await lib.backend.get_title("KD2")).availability.copies_available == 2
    with pytest.raises(NotFound) as info:
        await lib.backend.return_loan(ALICE, "KD2")
    assert "TitleNotCheckedOut" in (info.value.operator_detail or "")


async def test_hold_queue_ready_then_borrow(make_elibrary, clock):
    lib = await make_elibrary(titles=TITLES)
    await lib.backend.borrow(ALICE, "KD1")
    bob_hold = await lib.backend.place_hold(BOB, "KD1", email="bob@example.jp")
    assert bob_hold.status is HoldStatus.WAITING
    assert bob_hold.queue_position == 1
    carol_hold = await lib.backend.place_hold(CAROL, "KD1")
    assert carol_hold.queue_position == 2

    clock.advance(timedelta(days=2))
    await lib.backend.return_loan(ALICE, "KD1")
    [ready] = await lib.backend.list_holds(BOB)
    assert ready.status is HoldStatus.READY
    assert ready.queue_position is None
    assert ready.ready_since == clock()
    assert ready.ready_until == clock() + timedelta(days=7)
    [still_waiting] = await lib.backend.list_holds(CAROL)
    assert (still_waiting.status, still_waiting.queue_position) == (HoldStatus.WAITING, 1)

    # The kept copy is Bob's: Carol cannot take it, Bob can.
    with pytest.raises(Refused) as info:
        await lib.backend.borrow(CAROL, "KD1")
    assert info.value.reason is RefusalReason.NO_COPIES
    loan = await lib.backend.borrow(BOB, "KD1")
    assert loan.title.id == "KD1"
    assert await lib.backend.list_holds(BOB) == []


async def test_cancel_hold_passes_the_copy_on(make_elibrary):
    lib = await make_elibrary(titles=TITLES)
    await lib.backend.borrow(ALICE, "KD1")
    await lib.backend.place_hold(BOB, "KD1")
    await lib.backend.place_hold(CAROL, "KD1")
    await lib.backend.cancel_hold(BOB, "KD1")
    assert await lib.backend.list_holds(BOB) == []
    [carol] = await lib.backend.list_holds(CAROL)
    assert carol.queue_position == 1
    with pytest.raises(NotFound):
        await lib.backend.cancel_hold(BOB, "KD1")


async def test_refusals_come_back_as_domain_errors(make_elibrary):
    lib = await make_elibrary(titles=TITLES, max_holds=1)
    with pytest.raises(HoldRefused) as info:
        await lib.backend.place_hold(ALICE, "KD2")
    assert info.value.reason is RefusalReason.TITLE_AVAILABLE
    assert info.value.backend_message  # the e-library's own words are kept

    await lib.backend.place_hold(ALICE, "KD3")
    with pytest.raises(HoldRefused) as info:
        await lib.backend.place_hold(ALICE, "KD3")
    assert info.value.reason is RefusalReason.DUPLICATE_HOLD

    await lib.backend.borrow(BOB, "KD1")
    with pytest.raises(HoldRefused) as info:
        await lib.backend.place_hold(ALICE, "KD1")
    assert info.value.reason is RefusalReason.HOLD_LIMIT
    with pytest.raises(Refused) as info:
        await lib.backend.borrow(BOB, "KD1")
    assert info.value.reason is RefusalReason.ALREADY_ON_LOAN


async def test_unknown_blocked_and_expired_patrons(make_elibrary):
    lib = await make_elibrary(
        titles=TITLES,
        patrons=frozenset({ALICE, BOB, CAROL}),
        blocked_cards=frozenset({BOB}),
        expired_cards=frozenset({CAROL}),
    )
    with pytest.raises(NotFound):
        await lib.backend.list_loans("0000000000")
    with pytest.raises(PatronBlocked) as blocked:
        await lib.backend.list_holds(BOB)
    assert blocked.value.blocks == [BlockReason.OTHER]
    with pytest.raises(PatronBlocked) as expired:
        await lib.backend.list_loans(CAROL)
    assert expired.value.blocks == [BlockReason.CARD_EXPIRED]
    with pytest.raises(HoldRefused) as info:
        await lib.backend.place_hold(CAROL, "KD3")
    assert info.value.reason is RefusalReason.CARD_EXPIRED
    with pytest.raises(Refused) as info:
        await lib.backend.borrow(BOB, "KD2")
    assert info.value.reason is RefusalReason.PATRON_BLOCKED


async def test_revoked_token_is_refreshed_once(make_elibrary):
    lib = await make_elibrary(titles=TITLES)
    await lib.backend.get_title("KD1")
    assert lib.client.tokens_fetched == 1
    lib.state.revoke_tokens()
    await lib.backend.borrow(ALICE, "KD2")  # a write: safe to resend after a 401
    assert lib.client.tokens_fetched == 2
    assert [x.title.id for x in await lib.backend.list_loans(ALICE)] == ["KD2"]


async def test_token_expiry_by_clock_is_handled(make_elibrary, clock):
    lib = await make_elibrary(titles=TITLES, token_lifetime_seconds=60)
    await lib.backend.get_title("KD1")
    clock.advance(timedelta(minutes=5))  # the simulator's token is dead; ours looks alive
    await lib.backend.get_title("KD1")
    assert lib.client.tokens_fetched == 2


async def test_wrong_client_secret_is_backend_unavailable(make_elibrary):
    lib = await make_elibrary(titles=TITLES, client_secret="rotated")
    with pytest.raises(BackendUnavailable) as info:
        await lib.backend.list_loans(ALICE)
    assert "invalid_client" in (info.value.operator_detail or "")
    assert "rotated" not in repr(info.value) + (info.value.operator_detail or "")


async def test_times_are_aware_and_in_the_vendors_zone(make_elibrary):
    lib = await make_elibrary(titles=TITLES)
    loan = await lib.backend.borrow(ALICE, "KD2")
    assert loan.due.utcoffset() == JST.utcoffset(None)


async def test_cancel_refused_class_for_cancel_calls(make_elibrary):
    lib = await make_elibrary(titles=TITLES, blocked_cards=frozenset({BOB}))
    with pytest.raises(CancelRefused) as info:
        await lib.backend.cancel_hold(BOB, "KD1")
    assert info.value.reason is RefusalReason.PATRON_BLOCKED
