"""Regressions found by the contract suite: checkout/checkin over 11/09, and a new title-level
hold comes back under the id the hold list gives it (so it can be cancelled by that id)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.adapters.sip2.capabilities import capabilities_from_bx
from ils_gateway.adapters.sip2.mapping import loan_from_12
from ils_gateway.contract.embedded import holdable_waiting_item, lendable_item
from ils_gateway.domain.errors import NotFound, Refused
from ils_gateway.domain.vocab import LoanState
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.sip2.fields import SipDate
from ils_gateway.sip2.messages import CheckoutResponse

HANAKO = ("1000000001", "hanako01")


async def test_checkout_then_checkin(backend: Sip2Backend, library: SimulatedLibrary) -> None:
    patron = await backend.authenticate(*HANAKO)
    barcode = lendable_item(library, HANAKO[0])
    assert barcode is not None
    assert backend.capabilities.supports(Capability.CHECKOUT)
    assert backend.capabilities.supports(Capability.CHECKIN)

    loan = await backend.checkout(patron, barcode)

    assert loan.item.id == barcode and loan.state is LoanState.ON_LOAN
    assert loan.due_date > library.today()
    assert loan.renewable and loan.refusal_reason is None
    assert barcode in {v.barcode for v in library.loans(HANAKO[0])}
    item = await backend.checkin(barcode)
    assert item.id == barcode and item.title
    assert barcode not in {v.barcode for v in library.loans(HANAKO[0])}


async def test_checkout_refused_keeps_the_acs_words(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await backend.authenticate(*HANAKO)
    on_loan_elsewhere = holdable_waiting_item(library, HANAKO[0])
    assert on_loan_elsewhere is not None
    with pytest.raises(Refused) as refused:
        await backend.checkout(patron, on_loan_elsewhere)
    assert refused.value.backend_message == "この資料は貸出中です"


async def test_checkin_of_unknown_item_is_not_found(backend: Sip2Backend) -> None:
    await backend.start()
    with pytest.raises(NotFound):
        await backend.checkin("NO-SUCH-ITEM")


async def test_title_level_hold_is_returned_under_its_listed_id(
    backend: Sip2Backend, library: SimulatedLibrary
) -> None:
    patron = await backend.authenticate(*HANAKO)
    barcode = holdable_waiting_item(library, HANAKO[0])
    assert barcode is not None

    hold = await backend.place_hold(patron, barcode, "KITA")

    listed = {h.id: h for h in await backend.list_holds(patron)}
    assert hold.id in listed
    assert hold.pickup_library == "KITA"
    await backend.cancel_hold(patron, hold.id)
    biblio = library.item_info(barcode).biblio_id
    assert all(v.biblio_id != biblio for v in library.holds(HANAKO[0]))


def test_renewal_ok_of_a_checkout_is_not_read_as_renewability() -> None:
    # In a 12, "renewal ok" N only says this checkout was a new loan, not a renewal.
    due = date(2026, 12, 1)
    answer = CheckoutResponse.build(
        ok=True,
        renewal_ok=False,
        magnetic_media=False,
        desensitize=True,
        transaction_date=SipDate.from_datetime(datetime(2026, 11, 17, 10, 0)),
        institution_id="MIDORI",
        patron_identifier=HANAKO[0],
        item_identifier="2100000001",
        title_identifier="こころ",
        due_date=SipDate.from_datetime(datetime.combine(due, time(23, 59, 59))),
    )

    loan = loan_from_12(answer, today=date(2026, 11, 17), tz=ZoneInfo("Asia/Tokyo"))

    assert loan.due_date == due and loan.item.title == "こころ"
    assert loan.renewable and loan.refusal_reason is None


def test_checkout_and_checkin_declared_only_when_bx_flags_them() -> None:
    # BX positions 2 and 3 are checkout (11) and checkin (09).
    without = capabilities_from_bx("Y" + "NN" + "Y" * 13)
    with_both = capabilities_from_bx("Y" * 16)

    assert not without.supports(Capability.CHECKOUT)
    assert not without.supports(Capability.CHECKIN)
    assert without.supports(Capability.RENEW)
    assert with_both.supports(Capability.CHECKOUT) and with_both.supports(Capability.CHECKIN)
