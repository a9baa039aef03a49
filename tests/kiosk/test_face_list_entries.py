"""What the face lists in AS/CD (and AU/AT) of a 64: what a self-check machine can show or
scan, never the gateway's internal ids (issue 12, found by the peers' run).

A hold placed with a barcode is title-level in both ILSs; while no copy is set aside the
adapter names it ``title:4`` (SIP2 ``<record id> <title>``) or ``biblio:4`` (Koha). The machine
gets the title then, and the copy's barcode once the hold has one.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from kiosk_support import CARD, FREE, LENT, LENT_AT, PASSWORD, Clock, library_data, running

from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import Biblio, Item, ItemStatus, LibraryData, Loan
from ils_gateway.sip2.fields import HoldMode, SipDate, Summary, SummaryItem
from ils_gateway.sip2.messages import HoldRequest, PatronInformationRequest

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))


def _place(barcode: str) -> HoldRequest:
    return HoldRequest.build(
        transaction_date=_WHEN,
        hold_mode=HoldMode.ADD,
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        item_identifier=barcode,
        pickup_location="CEN",
    )


def _info(item: SummaryItem) -> PatronInformationRequest:
    return PatronInformationRequest.build(
        transaction_date=_WHEN,
        summary=Summary.of(item),
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
    )


@pytest.mark.parametrize("backend", ["sip2", "koha"])
async def test_hold_lists_show_barcodes_or_titles_not_internal_ids(backend: str) -> None:
    async with running(backend, Clock()) as setup:
        machine = setup.machine
        for barcode in (LENT, FREE):  # LENT waits for a copy; FREE's copy is set aside
            placed = await machine.request(_place(barcode), idempotent=False)
            assert placed.ok, placed.screen_messages
        waiting, on_shelf = setup.sim.holds(CARD)
        assert waiting.barcode is None  # listed by the ILS under its title only

        every: list[str] = []
        for summary, field in (
            (SummaryItem.UNAVAILABLE_HOLDS, "CD"),
            (SummaryItem.HOLD_ITEMS, "AS"),
        ):
            info = await machine.request(_info(summary), idempotent=True)
            every += info.get_all(field)
        # The SIP2 ACS lists the set-aside copy by its barcode; the Koha adapter keeps a
        # title-level hold on its record (``biblio:5``) even then, so the face shows the title.
        expected = {"sip2": [on_shelf.barcode], "koha": ["ぐりとぐら"]}[backend]
        assert sorted(every) == sorted(["吾輩は猫である", *expected])


def _unwritable_title() -> LibraryData:
    """A record whose title has 𠮷 (not in CP932), its one copy lent to the other patron."""
    data = library_data()
    return dataclasses.replace(
        data,
        biblios=[*data.biblios, Biblio(8, "𠮷野の本", "著者", ItemType.BOOK)],
        items=[
            *data.items,
            Item(108, "2000108", 8, "CEN", "CEN", "913/ヨ", ItemStatus.CHECKED_OUT),
        ],
        loans=[*data.loans, Loan(2, 108, 2, "CEN", LENT_AT, date(2026, 1, 17))],
    )


@pytest.mark.parametrize("backend", ["sip2", "koha"])
async def test_a_listed_title_the_machine_encoding_cannot_write_gets_a_mark(backend: str) -> None:
    """Over CP932 a title entry with 𠮷 is written with 〓, as titles are; the 64 still goes."""
    async with running(backend, Clock(), shift_jis=True, data=_unwritable_title()) as setup:
        placed = await setup.machine.request(_place("2000108"), idempotent=False)
        assert placed.ok, placed.screen_messages

        info = await setup.machine.request(_info(SummaryItem.UNAVAILABLE_HOLDS), idempotent=True)

        assert info.get_all("CD") == ["〓野の本"]
