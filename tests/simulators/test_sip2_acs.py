"""The SIP2 ACS simulator on the wire: every message through the client pool over real TCP."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import HoldState
from ils_gateway.simulators.records import ItemStatus
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import SimulatedACS, start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings, SIP2LoginFailed
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.fields import (
    CirculationStatus,
    FeeType,
    HoldMode,
    PatronStatusFlag,
    PaymentType,
    SipDate,
    Summary,
    SummaryItem,
)
from ils_gateway.sip2.messages import (
    BlockPatron,
    CheckinRequest,
    CheckoutRequest,
    EndPatronSessionRequest,
    FeePaidRequest,
    HoldRequest,
    ItemInformationRequest,
    ItemStatusUpdateRequest,
    LoginRequest,
    Message,
    PatronEnableRequest,
    PatronInformationRequest,
    PatronStatusRequest,
    RenewAllRequest,
    RenewRequest,
    RequestACSResend,
    SCStatus,
)
from ils_gateway.sip2.server import SIP2Server

HANAKO, HANAKO_PW = "1000000001", "hanako01"
SATO = "1000000002"  # blocked
KEIKO = "1000000011"  # owes 1650 yen
NOW = SipDate("20250602    100000")
LOGINS = {"selfcheck": "sc-pass"}


@dataclass
class ACSRig:
    library: SimulatedLibrary
    server: SIP2Server
    acs: SimulatedACS
    pool: SIP2ClientPool

    async def ask(self, message: Message, *, idempotent: bool = True) -> Message:
        return await self.pool.request(message, idempotent=idempotent)


@pytest.fixture
async def rig() -> AsyncIterator[ACSRig]:
    library = sample_library()
    server, acs = await start_sip2_simulator(library, logins=LOGINS)
    settings = SIP2ClientSettings(
        host="127.0.0.1",
        port=server.port,
        login_user="selfcheck",
        login_password="sc-pass",
        pool_size=2,
    )
    pool = SIP2ClientPool(settings)
    await pool.start()
    try:
        yield ACSRig(library, server, acs, pool)
    finally:
        await pool.aclose()
        await server.aclose()


async def test_login_and_status_are_remembered(rig: ACSRig) -> None:
    status = rig.pool.acs_status
    assert status is not None
    assert status.online_status and status.checkout_ok
    assert status.library_name == "みどり市立図書館"
    assert status.retries_allowed == 3
    assert rig.pool.supports("63") and rig.pool.supports("65")
    assert rig.pool.supports("42") is None


async def test_wrong_login_fails_the_pool_start(rig: ACSRig) -> None:
    settings = SIP2ClientSettings(
        host="127.0.0.1", port=rig.server.port, login_user="selfcheck", login_password="nope"
    )
    with pytest.raises(SIP2LoginFailed):
        await SIP2ClientPool(settings).start()


async def test_patron_messages_before_login_are_refused(rig: ACSRig) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.server.port)
    request = PatronStatusRequest.build(
        transaction_date=NOW, institution_id="MIDORI", patron_identifier=HANAKO
    )
    writer.write(encode(dataclasses.replace(request, sequence=0)))
    await writer.drain()
    assert await reader.read() == b""  # closed without an answer
    writer.close()
    # A pool without login gets no further either: the read fails after its one retry.
    anonymous = SIP2ClientPool(SIP2ClientSettings(host="127.0.0.1", port=rig.server.port))
    await anonymous.start()  # 99 is allowed before login
    with pytest.raises(Exception, match="closed"):
        await anonymous.request(request, idempotent=True)
    await anonymous.aclose()


async def test_23_patron_status(rig: ACSRig) -> None:
    ok = await rig.ask(
        PatronStatusRequest.build(
            language="014",
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=HANAKO,
            patron_password=HANAKO_PW,
        )
    )
    assert ok.code == "24"
    assert ok.valid_patron and ok.valid_patron_password
    assert ok.personal_name == "山田 花子"
    assert not ok.patron_status.flags
    blocked = await rig.ask(
        PatronStatusRequest.build(
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=SATO,
            patron_password="wrong",
        )
    )
    assert PatronStatusFlag.CHARGE_PRIVILEGES_DENIED in blocked.patron_status
    assert blocked.valid_patron_password is False
    unknown = await rig.ask(
        PatronStatusRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier="999"
        )
    )
    assert unknown.valid_patron is False
    assert unknown.screen_messages == ["利用者が見つかりません"]


def _info(
    card: str, item: SummaryItem | None = None, start: int | None = None, end: int | None = None
):
    return PatronInformationRequest.build(
        language="014",
        transaction_date=NOW,
        summary=Summary.of(item),
        institution_id="MIDORI",
        patron_identifier=card,
        start_item=str(start) if start else None,
        end_item=str(end) if end else None,
    )


async def test_63_reports_ready_holds_in_AS_and_the_rest_in_CD(rig: ACSRig) -> None:
    holds = rig.library.holds(HANAKO)
    ready = [h for h in holds if h.state is HoldState.AWAITING_PICKUP]
    waiting = [h for h in holds if h.state is not HoldState.AWAITING_PICKUP]
    counts = await rig.ask(_info(HANAKO))
    assert counts.hold_items_count == len(ready) == 1
    assert counts.unavailable_holds_count == len(waiting)
    assert counts.charged_items_count == 3
    assert counts.hold_items == counts.unavailable_hold_items == []  # no list asked for
    assert counts.email_address == "hanako@example.jp"

    shelf = await rig.ask(_info(HANAKO, SummaryItem.HOLD_ITEMS))
    assert shelf.hold_items == [ready[0].barcode]
    pending = await rig.ask(_info(HANAKO, SummaryItem.UNAVAILABLE_HOLDS))
    assert len(pending.unavailable_hold_items) == len(waiting)
    page = await rig.ask(_info(HANAKO, SummaryItem.UNAVAILABLE_HOLDS, start=2, end=3))
    assert page.unavailable_hold_items == pending.unavailable_hold_items[1:3]
    charged = await rig.ask(_info(HANAKO, SummaryItem.CHARGED_ITEMS))
    assert charged.charged_items == [loan.barcode for loan in rig.library.loans(HANAKO)]


async def test_63_page_is_capped_whatever_is_asked(rig: ACSRig) -> None:
    rig.acs.page_limit = 2
    page = await rig.ask(_info(HANAKO, SummaryItem.UNAVAILABLE_HOLDS, start=1, end=99))
    assert len(page.unavailable_hold_items) == 2


async def test_63_fines(rig: ACSRig) -> None:
    fines = await rig.ask(_info(KEIKO, SummaryItem.FINE_ITEMS))
    assert fines.fee_amount == "1650"
    assert fines.fine_items and fines.fine_items_count == len(fines.fine_items)
    assert PatronStatusFlag.EXCESSIVE_OUTSTANDING_FEES in fines.patron_status


async def test_17_item_information_reports_state_queue_and_dates(rig: ACSRig) -> None:
    on_loan = rig.library.loans(HANAKO)[0]
    item = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier=on_loan.barcode
        )
    )
    assert item.circulation_status is CirculationStatus.CHARGED
    assert item.title_identifier == on_loan.title
    assert item.due_date is not None and item.due_date.value.date() == on_loan.due
    shelf = next(h for h in rig.library.holds(HANAKO) if h.state is HoldState.AWAITING_PICKUP)
    held = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier=shelf.barcode
        )
    )
    assert held.circulation_status is CirculationStatus.WAITING_ON_HOLD_SHELF
    assert held.hold_pickup_date.value.date() == shelf.deadline
    transit = next(h for h in rig.library.holds(HANAKO) if h.state is HoldState.TRANSIT)
    moving = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier=transit.barcode
        )
    )
    assert moving.circulation_status is CirculationStatus.IN_TRANSIT
    queued = rig.library.loans(HANAKO)[1]  # others wait for it
    waiting = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier=queued.barcode
        )
    )
    assert int(waiting.hold_queue_length) == rig.library.item_info(queued.barcode).hold_queue_length
    assert int(waiting.hold_queue_length) >= 1
    missing = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier="nope"
        )
    )
    assert missing.circulation_status is CirculationStatus.OTHER
    assert missing.screen_messages == ["資料が見つかりません"]


async def test_17_records_a_sighting_as_kohas_seen_on_item_information(rig: ACSRig) -> None:
    """Koha's SIP account setting, per login (t/db_dependent/SIP/Message.t): unset, a 17 only reads;
    ``keep_lost`` sets the last-seen day and leaves a lost copy lost; ``mark_found`` finds it."""
    copy = next(i for i in rig.library.data.items if i.status.value == "available")
    copy.status = ItemStatus.LOST
    ask = ItemInformationRequest.build(
        transaction_date=NOW, institution_id="MIDORI", item_identifier=copy.barcode
    )
    await rig.ask(ask)
    assert copy.last_seen is None
    rig.acs.seen_on_item_information = {"another-account": "keep_lost"}  # per 93 login
    await rig.ask(ask)
    assert copy.last_seen is None
    rig.acs.seen_on_item_information = {"selfcheck": "keep_lost"}
    kept = await rig.ask(ask)
    assert copy.last_seen == rig.library.today() and copy.status is ItemStatus.LOST
    assert kept.circulation_status is CirculationStatus.LOST
    copy.last_seen = None
    rig.acs.seen_on_item_information = {"selfcheck": "mark_found"}
    found = await rig.ask(ask)
    assert copy.last_seen == rig.library.today() and copy.status is ItemStatus.AVAILABLE
    assert found.circulation_status is CirculationStatus.AVAILABLE


async def test_11_checkout_09_checkin(rig: ACSRig) -> None:
    barcode = next(
        i.barcode
        for i in rig.library.data.items
        if i.status.value == "available" and not i.not_for_loan
    )
    out = await rig.ask(
        CheckoutRequest.build(
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=HANAKO,
            item_identifier=barcode,
            patron_password=HANAKO_PW,
        ),
        idempotent=False,
    )
    assert out.ok and out.due_date.value is not None
    assert barcode in [loan.barcode for loan in rig.library.loans(HANAKO)]
    again = await rig.ask(
        CheckoutRequest.build(
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=HANAKO,
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert not again.ok
    assert again.screen_messages == ["この資料は現在あなたが借りています"]
    back = await rig.ask(
        CheckinRequest.build(
            transaction_date=NOW,
            return_date=NOW,
            current_location="CEN",
            institution_id="MIDORI",
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert back.ok and back.permanent_location
    assert barcode not in [loan.barcode for loan in rig.library.loans(HANAKO)]


async def test_11_refused_for_a_blocked_patron_with_a_japanese_screen_message(rig: ACSRig) -> None:
    barcode = next(i.barcode for i in rig.library.data.items if i.status.value == "available")
    refused = await rig.ask(
        CheckoutRequest.build(
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=SATO,
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert not refused.ok
    assert refused.screen_messages == ["利用が制限されているため貸出できません"]


async def test_29_renew_and_refusals(rig: ACSRig) -> None:
    renewable, on_reserve, too_many = rig.library.loans(HANAKO)
    ok = await rig.ask(
        RenewRequest.build(
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=HANAKO,
            item_identifier=renewable.barcode,
        ),
        idempotent=False,
    )
    assert ok.ok and ok.renewal_ok
    now_due = next(x.due for x in rig.library.loans(HANAKO) if x.barcode == renewable.barcode)
    assert now_due > renewable.due
    assert ok.due_date.value.date() == now_due
    for loan in (on_reserve, too_many):
        refused = await rig.ask(
            RenewRequest.build(
                transaction_date=NOW,
                institution_id="MIDORI",
                patron_identifier=HANAKO,
                item_identifier=loan.barcode,
            ),
            idempotent=False,
        )
        assert not refused.ok
        assert refused.screen_messages == [loan.renewal_refusal.message]
        assert refused.due_date.value.date() == loan.due


async def test_65_renew_all(rig: ACSRig) -> None:
    result = await rig.ask(
        RenewAllRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier=HANAKO
        ),
        idempotent=False,
    )
    assert result.ok
    assert result.renewed_count == 1 and result.unrenewed_count == 2
    assert len(result.renewed_items) == 1 and len(result.unrenewed_items) == 2
    assert any("予約" in note for note in result.screen_messages)


async def test_15_hold_place_change_cancel(rig: ACSRig) -> None:
    card = "1000000007"
    lib = rig.library
    mine = {h.biblio_id for h in lib.holds(card)}
    # A title with every copy out on loan: the hold waits in the queue.
    barcode = next(
        i.barcode
        for i in lib.data.items
        if i.biblio_id not in mine
        and lib.item_info(i.barcode).holdable
        and all(c.due is not None for c in lib.items_of(i.biblio_id))
    )
    placed = await rig.ask(
        HoldRequest.build(
            hold_mode=HoldMode.ADD,
            transaction_date=NOW,
            pickup_location="KITA",
            institution_id="MIDORI",
            patron_identifier=card,
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert placed.ok and not placed.available
    assert placed.pickup_location == "KITA"
    assert int(placed.queue_position) >= 1
    twice = await rig.ask(
        HoldRequest.build(
            hold_mode=HoldMode.ADD,
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=card,
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert not twice.ok and twice.screen_messages == ["この資料はすでに予約されています"]
    moved = await rig.ask(
        HoldRequest.build(
            hold_mode=HoldMode.CHANGE,
            transaction_date=NOW,
            pickup_location="MINAMI",
            institution_id="MIDORI",
            patron_identifier=card,
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert moved.ok and moved.pickup_location == "MINAMI"
    cancelled = await rig.ask(
        HoldRequest.build(
            hold_mode=HoldMode.DELETE,
            transaction_date=NOW,
            institution_id="MIDORI",
            patron_identifier=card,
            item_identifier=barcode,
        ),
        idempotent=False,
    )
    assert cancelled.ok
    biblio = rig.library.item_info(barcode).biblio_id
    assert not [h for h in rig.library.holds(card) if h.biblio_id == biblio]


async def test_01_block_25_enable_35_end_session(rig: ACSRig) -> None:
    card = "1000000007"
    blocked = await rig.ask(
        BlockPatron.build(
            card_retained=False,
            transaction_date=NOW,
            institution_id="MIDORI",
            blocked_card_message="カード紛失の届出",
            patron_identifier=card,
        ),
        idempotent=False,
    )
    assert blocked.code == "24"
    assert PatronStatusFlag.CHARGE_PRIVILEGES_DENIED in blocked.patron_status
    assert "カード紛失の届出" in blocked.screen_messages
    enabled = await rig.ask(
        PatronEnableRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier=card
        ),
        idempotent=False,
    )
    assert enabled.code == "26" and not enabled.patron_status.flags
    ended = await rig.ask(
        EndPatronSessionRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier=card
        )
    )
    assert ended.code == "36" and ended.end_session


async def test_19_item_status_update_is_reported_in_18(rig: ACSRig) -> None:
    barcode = rig.library.data.items[0].barcode
    updated = await rig.ask(
        ItemStatusUpdateRequest.build(
            transaction_date=NOW,
            institution_id="MIDORI",
            item_identifier=barcode,
            item_properties="付録CDあり",
        ),
        idempotent=False,
    )
    assert updated.item_properties_ok
    info = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier=barcode
        )
    )
    assert info.item_properties == "付録CDあり"


async def test_37_fee_paid(rig: ACSRig) -> None:
    def pay(card: str, amount: str) -> FeePaidRequest:
        return FeePaidRequest.build(
            transaction_date=NOW,
            fee_type=FeeType.REPLACEMENT,
            payment_type=PaymentType.CASH,
            currency_type="JPY",
            fee_amount=amount,
            institution_id="MIDORI",
            patron_identifier=card,
            transaction_id="T1",
        )

    paid = await rig.ask(pay(KEIKO, "1000"), idempotent=False)
    assert paid.payment_accepted and paid.transaction_id == "T1"
    assert "未納額 650円" in paid.screen_messages[0]
    too_much = await rig.ask(pay(KEIKO, "5000"), idempotent=False)
    assert not too_much.payment_accepted
    assert too_much.screen_messages == ["金額が正しくありません"]
    nothing_owed = await rig.ask(pay(HANAKO, "100"), idempotent=False)
    assert nothing_owed.screen_messages == ["お支払いいただく料金はありません"]


async def _raw_session(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(LoginRequest(fields=(("CN", "selfcheck"), ("CO", "sc-pass")), sequence=0)))
    await writer.drain()
    assert parse(await reader.readuntil(b"\r")).ok
    return reader, writer


async def test_repeated_renewal_is_answered_from_cache_not_acted_twice(rig: ACSRig) -> None:
    loan = rig.library.loans(HANAKO)[0]
    assert loan.renewable
    reader, writer = await _raw_session(rig.server.port)
    renew = RenewRequest.build(
        transaction_date=NOW,
        institution_id="MIDORI",
        patron_identifier=HANAKO,
        item_identifier=loan.barcode,
        sequence=1,
    )
    frame = encode(renew)
    writer.write(frame)
    first = await reader.readuntil(b"\r")
    writer.write(frame)  # the SC did not see the answer and sends the same bytes again
    second = await reader.readuntil(b"\r")
    writer.write(encode(RequestACSResend()))  # and asks for the last response once more
    third = await reader.readuntil(b"\r")
    writer.close()
    assert first == second == third
    assert parse(first).ok
    renewed = next(x for x in rig.library.loans(HANAKO) if x.barcode == loan.barcode)
    assert renewed.renewals == loan.renewals + 1


async def test_bad_checksum_is_answered_with_96(rig: ACSRig) -> None:
    reader, writer = await _raw_session(rig.server.port)
    frame = encode(SCStatus.build(sequence=1))
    broken = frame[:-5] + (b"0000" if frame[-5:-1] != b"0000" else b"0001") + b"\r"
    writer.write(broken)
    assert (await reader.readuntil(b"\r")).startswith(b"96")
    writer.write(frame)  # the resend is served normally
    assert parse(await reader.readuntil(b"\r")).code == "98"
    writer.close()


async def test_server_survives_a_client_vanishing_mid_frame(rig: ACSRig) -> None:
    _reader, writer = await _raw_session(rig.server.port)
    writer.write(b"63014" + NOW.raw.encode())  # half a frame, then gone
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    info = await rig.ask(_info(HANAKO))
    assert info.valid_patron


async def test_latency_is_applied_per_code(rig: ACSRig) -> None:
    # A zero-latency code answers while a slow one is still waiting: order, not wall time.
    rig.acs.latency = {"63": 30.0}
    slow = asyncio.create_task(rig.ask(_info(HANAKO)))
    fast = await rig.ask(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier="nope"
        )
    )
    assert fast.code == "18" and not slow.done()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow


async def test_cp932_and_crlf_on_the_wire() -> None:
    library = sample_library()
    codec = CodecSettings(encoding="cp932", terminator="\r\n")
    server, _acs = await start_sip2_simulator(library, codec=codec)
    settings = SIP2ClientSettings(
        host="127.0.0.1", port=server.port, encoding="cp932", terminator="\r\n"
    )
    try:
        async with SIP2ClientPool(settings) as pool:
            info = await pool.request(_info(HANAKO), idempotent=True)
            assert info.personal_name == "山田 花子"
            assert pool.acs_status.library_name == "みどり市立図書館"
    finally:
        await server.aclose()
