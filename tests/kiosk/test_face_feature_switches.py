"""The tenant's kiosk feature switches on the SIP2 face: checkout and checkin follow "loans"
like renewals do, through the same check the HTTP API uses (``require_feature``)."""

from __future__ import annotations

from datetime import datetime

import pytest
from kiosk_support import CARD, FREE, LENT, OTHER_CARD, OTHER_PASSWORD, PASSWORD, Clock, running

from ils_gateway.domain.errors import FeatureDisabled
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.services.context import Caller
from ils_gateway.sip2.fields import SipDate, SupportedMessages
from ils_gateway.sip2.messages import CheckinRequest, CheckoutRequest, RenewRequest, SCStatus

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))
NOT_HERE = ["この機械ではご利用いただけません"]


def _checkout(item: str) -> CheckoutRequest:
    return CheckoutRequest.build(
        transaction_date=_WHEN,
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        item_identifier=item,
    )


def _checkin(item: str) -> CheckinRequest:
    return CheckinRequest.build(
        transaction_date=_WHEN, return_date=_WHEN, institution_id="TEST", item_identifier=item
    )


def _renew(item: str) -> RenewRequest:
    return RenewRequest.build(
        transaction_date=_WHEN,
        institution_id="TEST",
        patron_identifier=OTHER_CARD,
        patron_password=OTHER_PASSWORD,
        item_identifier=item,
    )


def _on_loan(setup, barcode: str) -> bool:
    return setup.sim.item_info(barcode).status == "checked_out"


async def test_loans_switched_off_on_kiosks_stops_checkout_and_checkin() -> None:
    async with running("sip2", Clock(), kiosk_disabled=["loans"]) as setup:
        machine = setup.machine
        status = await machine.request(SCStatus.build(), idempotent=True)
        supported = SupportedMessages.from_bx(status.supported_messages)
        assert not supported.checkout and not supported.checkin
        assert not status.checkout_ok and not status.checkin_ok

        out = await machine.request(_checkout(FREE), idempotent=False)
        assert not out.ok and out.screen_messages == NOT_HERE
        assert not _on_loan(setup, FREE)
        back = await machine.request(_checkin(LENT), idempotent=False)
        assert not back.ok and back.screen_messages == NOT_HERE
        assert _on_loan(setup, LENT)

        # The same switch, read by the HTTP API's service: kiosk off, web on.
        runtime = setup.gateway.tenant("testlib")
        patron = await runtime.context.backend.authenticate(CARD, PASSWORD)
        with pytest.raises(FeatureDisabled) as refused:
            await runtime.loans.list_loans(Caller(patron, Channel.KIOSK))
        assert refused.value.feature is Feature.LOANS
        assert await runtime.loans.list_loans(Caller(patron, Channel.WEB)) == []


async def test_other_switches_leave_checkout_and_checkin_alone() -> None:
    async with running("sip2", Clock(), kiosk_disabled=["renewals"]) as setup:
        machine = setup.machine
        status = await machine.request(SCStatus.build(), idempotent=True)
        supported = SupportedMessages.from_bx(status.supported_messages)
        assert supported.checkout and supported.checkin and status.checkout_ok

        out = await machine.request(_checkout(FREE), idempotent=False)
        assert out.ok, out.screen_messages
        assert _on_loan(setup, FREE)
        renewed = await machine.request(_renew(LENT), idempotent=False)
        assert not renewed.ok and renewed.screen_messages == NOT_HERE
        back = await machine.request(_checkin(FREE), idempotent=False)
        assert back.ok, back.screen_messages
        assert not _on_loan(setup, FREE)
