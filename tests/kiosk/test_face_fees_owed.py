"""The kiosk face's 64 says what is owed (BH, BV) where the library system's summary does."""

from __future__ import annotations

from datetime import datetime

from kiosk_support import CARD, PASSWORD, Clock, library_data, running

from ils_gateway.simulators.records import Fee, FeeKind
from ils_gateway.sip2.fields import SipDate, Summary
from ils_gateway.sip2.messages import PatronInformationRequest

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))


def _info() -> PatronInformationRequest:
    return PatronInformationRequest.build(
        transaction_date=_WHEN,
        summary=Summary(),
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
    )


async def test_sip2_relay_sends_the_amount_owed() -> None:
    data = library_data()
    owner = next(p for p in data.patrons if p.card_number == CARD)
    data.fees.append(
        Fee(id=9, patron_id=owner.id, kind=FeeKind.DAMAGE, amount=880, description="汚損弁償金")
    )
    async with running("sip2", Clock(), data=data) as setup:
        info = await setup.machine.request(_info(), idempotent=True)
        assert (info.currency_type, info.fee_amount) == ("JPY", "880")


async def test_koha_behind_the_face_says_nothing_it_does_not_know() -> None:
    async with running("koha", Clock()) as setup:
        info = await setup.machine.request(_info(), idempotent=True)
        assert info.fee_amount is None and info.currency_type is None
