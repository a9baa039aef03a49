"""A hold placed at the self-check with an item barcode is cancelled there with the same barcode,
over real TCP, in front of the SIP2 simulator and the Koha simulator (issue 12).

Both ILSs record a barcode hold as title-level (SIP2 hold type 2, Koha ``biblio_id``): while no
copy is set aside the ILS lists it under the title (SIP2 ``<record id> <title>`` in CD → id
``title:4``; Koha ``biblio:4``), not under the barcode the machine will scan again to cancel.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from kiosk_support import CARD, FREE, FREE_2, LENT, PASSWORD, Clock, library_data, running

from ils_gateway.simulators.library import TOKYO
from ils_gateway.simulators.policy import HoldState, ItemType
from ils_gateway.simulators.records import Biblio, Item, ItemStatus, LibraryData, Loan
from ils_gateway.sip2.fields import HoldMode, SipDate
from ils_gateway.sip2.messages import HoldRequest

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))


def _hold(mode: HoldMode, barcode: str) -> HoldRequest:
    return HoldRequest.build(
        transaction_date=_WHEN,
        hold_mode=mode,
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        item_identifier=barcode,
        pickup_location="CEN" if mode is HoldMode.ADD else None,
    )


@pytest.mark.parametrize("backend", ["sip2", "koha"])
async def test_a_hold_placed_with_a_barcode_is_cancelled_with_that_barcode(backend: str) -> None:
    async with running(backend, Clock()) as setup:
        machine = setup.machine
        # LENT is on loan to another patron: the hold waits for a copy, listed by its title.
        # FREE is on the shelf: its hold gets that copy at once, a second open hold.
        for barcode in (LENT, FREE):
            placed = await machine.request(_hold(HoldMode.ADD, barcode), idempotent=False)
            assert placed.ok, placed.screen_messages
        waiting, on_shelf = setup.sim.holds(CARD)
        assert waiting.barcode is None and waiting.title == "吾輩は猫である"

        cancelled = await machine.request(_hold(HoldMode.DELETE, LENT), idempotent=False)

        assert cancelled.ok, cancelled.screen_messages
        assert setup.sim.hold_by_id(waiting.hold_id).state is HoldState.CANCELLED
        assert setup.sim.hold_by_id(on_shelf.hold_id).state.is_open  # only the one scanned

        # A barcode of a title the patron holds nothing on cancels nothing.
        none = await machine.request(_hold(HoldMode.DELETE, FREE_2), idempotent=False)
        assert not none.ok and none.screen_messages == ["該当する予約がありません"]
        assert setup.sim.hold_by_id(on_shelf.hold_id).state.is_open
        # Cancelling the scanned hold again finds nothing to cancel.
        again = await machine.request(_hold(HoldMode.DELETE, LENT), idempotent=False)
        assert not again.ok and again.screen_messages == ["該当する予約がありません"]


def _two_records_one_title() -> LibraryData:
    """Two editions titled 坊っちゃん (records 8 and 9), each copy lent to the other patron."""
    data = library_data()
    lent = datetime(2026, 1, 3, 11, 0, tzinfo=TOKYO)
    return dataclasses.replace(
        data,
        biblios=[
            *data.biblios,
            Biblio(8, "坊っちゃん", "夏目漱石", ItemType.BOOK),
            Biblio(9, "坊っちゃん", "夏目漱石", ItemType.BOOK),
        ],
        items=[
            *data.items,
            Item(108, "2000108", 8, "CEN", "CEN", "913/ナ", ItemStatus.CHECKED_OUT),
            Item(109, "2000109", 9, "CEN", "CEN", "913/ナ", ItemStatus.CHECKED_OUT),
        ],
        loans=[
            *data.loans,
            Loan(2, 108, 2, "CEN", lent, date(2026, 1, 17)),
            Loan(3, 109, 2, "CEN", lent, date(2026, 1, 17)),
        ],
    )


@pytest.mark.parametrize("backend", ["sip2", "koha"])
async def test_a_barcode_naming_one_of_two_held_titles_of_one_name_cancels_neither(
    backend: str,
) -> None:
    """The item information gives a title, not the record: with two title-level holds on
    records of that title, the face cannot tell which one the barcode belongs to."""
    async with running(backend, Clock(), data=_two_records_one_title()) as setup:
        for barcode in ("2000108", "2000109"):
            placed = await setup.machine.request(_hold(HoldMode.ADD, barcode), idempotent=False)
            assert placed.ok, placed.screen_messages

        refused = await setup.machine.request(_hold(HoldMode.DELETE, "2000108"), idempotent=False)

        assert not refused.ok and refused.screen_messages == ["該当する予約がありません"]
        assert all(h.state.is_open for h in setup.sim.holds(CARD))


@pytest.mark.parametrize("backend", ["sip2", "koha"])
async def test_a_title_naming_two_held_records_cancels_neither(backend: str) -> None:
    """CD shows a hold with no copy by its title; sent back in AJ it names the hold only when
    one open hold has that title (two editions of 坊っちゃん: neither is cancelled)."""
    async with running(backend, Clock(), data=_two_records_one_title()) as setup:
        for barcode in ("2000108", "2000109"):
            placed = await setup.machine.request(_hold(HoldMode.ADD, barcode), idempotent=False)
            assert placed.ok, placed.screen_messages
        by_title = HoldRequest.build(
            transaction_date=_WHEN,
            hold_mode=HoldMode.DELETE,
            institution_id="TEST",
            patron_identifier=CARD,
            patron_password=PASSWORD,
            title_identifier="坊っちゃん",
        )

        refused = await setup.machine.request(by_title, idempotent=False)

        assert not refused.ok and refused.screen_messages == ["該当する予約がありません"]
        assert all(h.state.is_open for h in setup.sim.holds(CARD))
