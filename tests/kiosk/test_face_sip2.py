"""The kiosk face over real TCP, relaying to a SIP2 ACS (the simulator) with the tenant's rules:
``SIP2ClientPool`` plays the self-check machine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import structlog
from kiosk_support import (
    CARD,
    EXPIRED_CARD,
    EXPIRED_PASSWORD,
    FREE,
    FREE_2,
    LENT,
    OTHER_CARD,
    PASSWORD,
    REFERENCE,
    Clock,
    Setup,
    running,
    self_check,
)

from ils_gateway.adapters.base import Capability
from ils_gateway.simulators.library import TOKYO
from ils_gateway.sip2.client import SIP2ClientPool, SIP2LoginFailed
from ils_gateway.sip2.fields import (
    CirculationStatus,
    FeeType,
    HoldMode,
    PatronStatusFlag,
    PaymentType,
    SipDate,
    Summary,
    SummaryItem,
    SupportedMessages,
)
from ils_gateway.sip2.messages import (
    ACSStatus,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    SCStatus,
)

MAINTENANCE = "システムメンテナンス中です。しばらくしてからご利用ください"
_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))


def req(cls, **values):
    """A request built as the machine sends it (the transaction date filled in)."""
    if "transaction_date" in cls._FIXED_NAMES:
        values.setdefault("transaction_date", _WHEN)
    if "return_date" in cls._FIXED_NAMES:
        values.setdefault("return_date", _WHEN)
    return cls.build(**values)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with running("sip2", Clock()) as s:
        yield s


async def ask(machine: SIP2ClientPool, message, *, idempotent: bool = True):
    return await machine.request(message, idempotent=idempotent)


def info_request(card: str = CARD, password: str | None = PASSWORD, **extra):
    return req(
        PatronInformationRequest,
        institution_id="TEST",
        patron_identifier=card,
        patron_password=password,
        **extra,
    )


async def checkout(machine: SIP2ClientPool, item: str, card: str = CARD, password=PASSWORD):
    return await ask(
        machine,
        req(
            CheckoutRequest,
            institution_id="TEST",
            patron_identifier=card,
            item_identifier=item,
            patron_password=password,
        ),
        idempotent=False,
    )


async def test_98_states_what_the_backend_can_do(setup: Setup) -> None:
    status = await ask(setup.machine, SCStatus.build())
    assert isinstance(status, ACSStatus)
    supported = SupportedMessages.from_bx(status.supported_messages)
    caps = setup.gateway.tenant("testlib").context.backend.capabilities
    assert supported.checkout is caps.supports(Capability.CHECKOUT) is True
    assert supported.checkin and supported.renew and supported.hold and supported.login
    assert not supported.fee_paid and not supported.block_patron and not supported.patron_enable
    assert status.checkout_ok and status.online_status
    assert status.get("AM") == "テスト市立図書館"


async def test_a_machine_with_a_wrong_login_is_refused(setup: Setup) -> None:
    with pytest.raises(SIP2LoginFailed):
        async with self_check(setup.port, password="wrong"):
            pass


async def test_patron_information_lists_loans_after_a_checkout(setup: Setup) -> None:
    before = await ask(setup.machine, info_request(summary=Summary.of(SummaryItem.CHARGED_ITEMS)))
    assert isinstance(before, PatronInformationResponse)
    assert before.get("BL") == "Y" and before.get("CQ") == "Y"
    assert before.get("AE") == "山田 花子"
    assert before.charged_items_count == 0 and before.get_all("AU") == []

    out = await checkout(setup.machine, FREE)
    assert isinstance(out, CheckoutResponse)
    assert out.ok, out.screen_messages
    assert out.get("AJ") == "ぐりとぐら"
    assert out.get("AH")  # a due date
    out = await checkout(setup.machine, FREE_2)
    assert out.ok

    after = await ask(setup.machine, info_request(summary=Summary.of(SummaryItem.CHARGED_ITEMS)))
    assert after.charged_items_count == 2
    assert sorted(after.get_all("AU")) == sorted([FREE, FREE_2])
    page = await ask(
        setup.machine,
        info_request(summary=Summary.of(SummaryItem.CHARGED_ITEMS), start_item="2", end_item="2"),
    )
    assert len(page.get_all("AU")) == 1 and page.get_all("AU")[0] in (FREE, FREE_2)
    assert setup.sim.item_info(FREE).circulation_status == CirculationStatus.CHARGED.value


async def test_card_numbers_are_normalised_by_the_tenant_rule(setup: Setup) -> None:
    answer = await ask(setup.machine, info_request(card="0000-000001"))
    assert answer.get("BL") == "Y" and answer.get("AE") == "山田 花子"


async def test_wrong_password_unknown_card_and_missing_password(setup: Setup) -> None:
    for card, password in ((CARD, "nope"), ("9999999999", "x"), ("abc", "x")):
        answer = await ask(setup.machine, info_request(card=card, password=password))
        assert answer.get("BL") == "N" and answer.get("CQ") == "N"
        assert answer.screen_messages == ["カード番号またはパスワードが正しくありません"]
        assert answer.get("AE") == ""
    answer = await ask(setup.machine, info_request(password=None))
    assert answer.get("BL") == "N"
    assert answer.screen_messages == ["パスワードを入力してください"]
    refused = await checkout(setup.machine, FREE, password="nope")
    assert not refused.ok
    assert setup.sim.item_info(FREE).circulation_status == CirculationStatus.AVAILABLE.value


async def test_an_expired_card_is_refused_with_status_bits(setup: Setup) -> None:
    status = await ask(
        setup.machine,
        req(
            PatronStatusRequest,
            institution_id="TEST",
            patron_identifier=EXPIRED_CARD,
            patron_password=EXPIRED_PASSWORD,
        ),
    )
    assert isinstance(status, PatronStatusResponse)
    assert status.get("BL") == "Y" and status.get("CQ") == "Y"
    assert PatronStatusFlag.CHARGE_PRIVILEGES_DENIED in status.patron_status
    assert PatronStatusFlag.HOLD_PRIVILEGES_DENIED in status.patron_status
    assert status.screen_messages == ["カードの有効期限切れ"]

    refused = await checkout(setup.machine, FREE, card=EXPIRED_CARD, password=EXPIRED_PASSWORD)
    assert not refused.ok
    assert refused.screen_messages == ["カードの有効期限切れ"]
    assert setup.sim.item_info(FREE).circulation_status == CirculationStatus.AVAILABLE.value


async def test_refused_checkouts_carry_the_librarys_reason(setup: Setup) -> None:
    lent = await checkout(setup.machine, LENT)
    reference = await checkout(setup.machine, REFERENCE)
    for refused in (lent, reference):
        assert not refused.ok
        assert refused.screen_messages and refused.screen_messages[0]
        assert not (refused.get("AH") or "").strip()


async def test_a_cancelled_checkout_is_never_acted_on(setup: Setup) -> None:
    cancel = req(
        CheckoutRequest,
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        item_identifier=FREE,
        cancel="Y",
    )
    refused = await ask(setup.machine, cancel, idempotent=False)
    assert not refused.ok
    assert setup.sim.item_info(FREE).circulation_status == CirculationStatus.AVAILABLE.value


async def test_checkin_and_item_information(setup: Setup) -> None:
    assert (await checkout(setup.machine, FREE)).ok
    item = await ask(setup.machine, req(ItemInformationRequest, item_identifier=FREE))
    assert isinstance(item, ItemInformationResponse)
    assert item.circulation_status is CirculationStatus.CHARGED
    assert item.get("AJ") == "ぐりとぐら"

    back = await ask(
        setup.machine,
        req(CheckinRequest, institution_id="TEST", item_identifier=FREE),
        idempotent=False,
    )
    assert isinstance(back, CheckinResponse)
    assert back.ok and back.get("AJ") == "ぐりとぐら"
    item = await ask(setup.machine, req(ItemInformationRequest, item_identifier=FREE))
    assert item.circulation_status is CirculationStatus.AVAILABLE

    unknown = await ask(setup.machine, req(ItemInformationRequest, item_identifier="0000"))
    assert unknown.screen_messages == ["資料が見つかりません"]


async def test_renewals_follow_the_tenant_rule(setup: Setup) -> None:
    assert (await checkout(setup.machine, FREE)).ok

    def renew():
        return req(
            RenewRequest,
            institution_id="TEST",
            patron_identifier=CARD,
            patron_password=PASSWORD,
            item_identifier=FREE,
        )

    first = await ask(setup.machine, renew(), idempotent=False)
    assert isinstance(first, RenewResponse)
    assert first.ok, first.screen_messages
    second = await ask(setup.machine, renew(), idempotent=False)
    assert not second.ok
    # The tenant allows one renewal: refused by its rule, with its label.
    assert second.screen_messages == ["延長回数の上限に達しています"]

    everything = await ask(
        setup.machine,
        req(
            RenewAllRequest, institution_id="TEST", patron_identifier=CARD, patron_password=PASSWORD
        ),
        idempotent=False,
    )
    assert isinstance(everything, RenewAllResponse)
    assert everything.ok
    assert everything.renewed_count == 0 and everything.unrenewed_count == 1
    assert everything.get_all("BN") == [FREE]
    assert everything.screen_messages == [f"{FREE}: 延長回数の上限に達しています"]


async def test_place_and_cancel_a_hold(setup: Setup) -> None:
    def hold(mode: HoldMode):
        return req(
            HoldRequest,
            hold_mode=mode,
            institution_id="TEST",
            patron_identifier=CARD,
            patron_password=PASSWORD,
            item_identifier=LENT,
            pickup_location="CEN",
        )

    placed = await ask(setup.machine, hold(HoldMode.ADD), idempotent=False)
    assert isinstance(placed, HoldResponse)
    assert placed.ok, placed.screen_messages
    assert not placed.available
    listed = await ask(
        setup.machine, info_request(summary=Summary.of(SummaryItem.UNAVAILABLE_HOLDS))
    )
    assert listed.unavailable_holds_count == 1 and len(listed.get_all("CD")) == 1

    again = await ask(setup.machine, hold(HoldMode.ADD), idempotent=False)
    assert not again.ok and again.screen_messages == ["すでに予約しています"]

    hold_id = listed.get_all("CD")[0]
    cancel = req(
        HoldRequest,
        hold_mode=HoldMode.DELETE,
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        title_identifier=hold_id,
    )
    cancelled = await ask(setup.machine, cancel, idempotent=False)
    assert cancelled.ok, cancelled.screen_messages
    listed = await ask(
        setup.machine, info_request(summary=Summary.of(SummaryItem.UNAVAILABLE_HOLDS))
    )
    assert listed.unavailable_holds_count == 0
    missing = await ask(setup.machine, cancel, idempotent=False)
    assert not missing.ok and missing.screen_messages == ["該当する予約がありません"]


async def test_end_session_and_unsupported_messages(setup: Setup) -> None:
    end = await ask(
        setup.machine, req(EndPatronSessionRequest, institution_id="TEST", patron_identifier=CARD)
    )
    assert isinstance(end, EndSessionResponse) and end.end_session
    fee = await ask(
        setup.machine,
        req(
            FeePaidRequest,
            institution_id="TEST",
            patron_identifier=CARD,
            fee_amount="100",
            fee_type=FeeType.OTHER,
            payment_type=PaymentType.CASH,
        ),
        idempotent=False,
    )
    assert isinstance(fee, FeePaidResponse)
    assert not fee.payment_accepted
    assert fee.screen_messages == ["この機械ではご利用いただけません"]


async def test_logs_never_show_passwords_or_whole_cards(setup: Setup) -> None:
    with structlog.testing.capture_logs() as logs:
        await checkout(setup.machine, FREE)
        await checkout(setup.machine, LENT, card=OTHER_CARD, password="wrong-password")
    text = repr(logs)
    frames = [e for e in logs if e.get("event") == "sip2.frame"]
    assert frames, "the frames are logged (redacted)"
    assert any("AA=******0001" in f for e in frames for f in e["fields"])
    for secret in (PASSWORD, "wrong-password", "kiosk-secret", "acs-secret", CARD, OTHER_CARD):
        assert secret not in text


async def test_the_nightly_maintenance_window_stops_circulation_only() -> None:
    clock = Clock(datetime(2026, 1, 10, 4, 0, tzinfo=TOKYO))
    async with running("sip2", clock) as setup:
        status = await ask(setup.machine, SCStatus.build())
        assert status.online_status
        assert not status.checkout_ok and not status.checkin_ok
        assert status.screen_messages == [MAINTENANCE]
        refused = await checkout(setup.machine, FREE)
        assert not refused.ok and refused.screen_messages == [MAINTENANCE]
        assert setup.sim.item_info(FREE).circulation_status == CirculationStatus.AVAILABLE.value
        # Reading is still allowed.
        info = await ask(setup.machine, info_request())
        assert info.get("BL") == "Y"

        clock.now = datetime(2026, 1, 10, 4, 30, tzinfo=TOKYO)
        assert (await ask(setup.machine, SCStatus.build())).checkout_ok
        assert (await checkout(setup.machine, FREE)).ok


async def test_machines_speaking_shift_jis_with_crlf() -> None:
    async with running("sip2", Clock(), shift_jis=True) as setup:
        face = setup.gateway.tenant("testlib").config.kiosk_sip2
        assert face is not None and (face.encoding, face.terminator) == ("cp932", "crlf")
        info = await ask(setup.machine, info_request())
        assert info.get("AE") == "山田 花子"
        out = await checkout(setup.machine, FREE)
        assert out.ok and out.get("AJ") == "ぐりとぐら"
        wrong = await ask(setup.machine, info_request(password="nope"))
        assert wrong.screen_messages == ["カード番号またはパスワードが正しくありません"]
