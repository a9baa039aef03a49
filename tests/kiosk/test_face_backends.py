"""The kiosk face in front of a REST backend (the Koha simulator), and the reading history a
kiosk checkout feeds for an opted-in patron (SIP2 relay, store on SQLite)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from kiosk_support import (
    CARD,
    FREE,
    FREE_2,
    LENT,
    OTHER_CARD,
    OTHER_PASSWORD,
    PASSWORD,
    REFERENCE,
    Clock,
    running,
)

from ils_gateway.domain.errors import AuthenticationFailed
from ils_gateway.domain.vocab import Channel
from ils_gateway.services.mylists.errors import HistoryLocked
from ils_gateway.sip2.fields import (
    CirculationStatus,
    SipDate,
    Summary,
    SummaryItem,
    SupportedMessages,
)
from ils_gateway.sip2.messages import (
    CheckoutRequest,
    ItemInformationRequest,
    PatronInformationRequest,
    RenewRequest,
    SCStatus,
)

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))


def _checkout(item: str, card: str = CARD, password: str = PASSWORD) -> CheckoutRequest:
    return CheckoutRequest.build(
        transaction_date=_WHEN,
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
        item_identifier=item,
    )


def _loans(card: str = CARD, password: str = PASSWORD) -> PatronInformationRequest:
    return PatronInformationRequest.build(
        transaction_date=_WHEN,
        summary=Summary.of(SummaryItem.CHARGED_ITEMS),
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
    )


async def test_a_rest_backend_behind_the_face() -> None:
    """Koha lends through its REST API but takes nothing back: the face says so in BX (11,
    no 09), while patron information, item information and renewals go through. A checkout
    Koha would only make with staff confirming it (a copy on loan to another patron) is
    refused in Koha's words."""
    async with running("koha", Clock()) as setup:
        machine = setup.machine
        status = await machine.request(SCStatus.build(), idempotent=True)
        supported = SupportedMessages.from_bx(status.supported_messages)
        assert supported.checkout and status.checkout_ok
        assert not supported.checkin and not status.checkin_ok
        assert supported.patron_information and supported.renew and supported.item_information

        info = await machine.request(_loans(OTHER_CARD, OTHER_PASSWORD), idempotent=True)
        assert info.get("BL") == "Y" and info.get("AE") == "佐藤 一郎"
        assert info.charged_items_count == 1 and info.get_all("AU") == [LENT]

        item = await machine.request(
            ItemInformationRequest.build(transaction_date=_WHEN, item_identifier=LENT),
            idempotent=True,
        )
        assert item.get("AJ") == "吾輩は猫である"
        assert item.circulation_status is CirculationStatus.CHARGED
        free = await machine.request(
            ItemInformationRequest.build(transaction_date=_WHEN, item_identifier=FREE),
            idempotent=True,
        )
        assert free.circulation_status is CirculationStatus.AVAILABLE
        reference = await machine.request(
            ItemInformationRequest.build(transaction_date=_WHEN, item_identifier=REFERENCE),
            idempotent=True,
        )
        assert reference.circulation_status is CirculationStatus.OTHER

        renewed = await machine.request(
            RenewRequest.build(
                transaction_date=_WHEN,
                institution_id="TEST",
                patron_identifier=OTHER_CARD,
                patron_password=OTHER_PASSWORD,
                item_identifier=LENT,
            ),
            idempotent=False,
        )
        assert renewed.ok, renewed.screen_messages
        assert (renewed.get("AH") or "").startswith("2026")

        refused = await machine.request(_checkout(LENT), idempotent=False)
        assert not refused.ok
        assert refused.screen_messages == ["Checkout needs confirmation (ISSUED_TO_ANOTHER)"]
        lent = await machine.request(_checkout(FREE), idempotent=False)
        assert lent.ok and lent.get("AJ") == "ぐりとぐら"
        wrong = await machine.request(_loans(CARD, "nope"), idempotent=True)
        assert wrong.get("BL") == "N"
        assert wrong.screen_messages == ["カード番号またはパスワードが正しくありません"]


async def test_a_kiosk_checkout_enters_the_opted_in_patrons_reading_history(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running("sip2", clock, store_dir=tmp_path) as setup:
        runtime = setup.gateway.tenant("testlib")
        lists = runtime.mylists
        assert lists is not None
        ils = runtime.context.backend
        patron = await ils.authenticate(CARD, PASSWORD)
        ctx = lists.context(runtime.config, patron, Channel.WEB)
        await lists.history.enable(ctx, ils, PASSWORD)
        other = await ils.authenticate(OTHER_CARD, OTHER_PASSWORD)
        other_ctx = lists.context(runtime.config, other, Channel.WEB)

        assert (await setup.machine.request(_checkout(FREE), idempotent=False)).ok
        # The other patron never opted in: nothing is recorded for them.
        out = await setup.machine.request(
            _checkout(FREE_2, OTHER_CARD, OTHER_PASSWORD), idempotent=False
        )
        assert out.ok, out.screen_messages

        # Sealed without the password; reading needs it.
        with pytest.raises(HistoryLocked):
            await lists.history.list(ctx, None)
        with pytest.raises(AuthenticationFailed):
            await lists.history.unlock(ctx, ils, "not-the-password")
        opened = await lists.history.unlock(ctx, ils, PASSWORD)
        page = await lists.history.list(ctx, opened.key)
        assert [e.entry.title for e in page.entries] == ["ぐりとぐら"]
        assert [e.entry.item_id for e in page.entries] == [FREE]
        assert (await lists.history.list(other_ctx, None)).total_entries == 0
