"""Check-in answers on the SIP2 face by the library's rules, over real TCP to the SIP2
simulator: a copy not on loan (Koha checked_in_ok), a copy caught for a hold (sort bin, CV
01/04, or holds_block_checkin), sort rules by kind and location, CV/CT switches (Koha
cv_triggers_alert, cv_send_00_on_success, ct_always_send), lost copies reported missing
(lost_status_for_missing). Koha's semantics: C4/SIP/ILS/Transaction/Checkin.pm."""

from __future__ import annotations

import pysip2
import structlog
from kiosk_support import CARD, FREE, LENT, Clock, running
from pysip2 import decode_message
from terminal_support import DVD, NIS_BOOK, OVERDUE, checkin, item_information, terminal_data

from ils_gateway.sip2.codec import CodecSettings, encode
from ils_gateway.sip2.fields import CirculationStatus
from ils_gateway.sip2.messages import CheckinResponse, ItemInformationResponse

NOT_ON_LOAN = "貸出されていない資料です"


def _toml(body: str) -> str:
    return f"\n[tenants.kiosk_sip2.reply.checkin]\n{body}\n"


async def _checkin(setup, barcode: str, location: str = "") -> CheckinResponse:
    answer = await setup.machine.request(checkin(barcode, location), idempotent=False)
    assert isinstance(answer, CheckinResponse)
    return answer


async def test_default_check_in_of_a_copy_not_on_loan_is_good() -> None:
    """Default (checked_in_ok): a copy that was not on loan comes back ok, no alert, no CV;
    the face does not read the copy before or after."""
    async with running("sip2", Clock()) as setup:
        answer = await _checkin(setup, FREE)
        assert answer.ok and not answer.alert
        assert answer.get("CV") is None and answer.sort_bin is None


async def test_not_checked_in_ok_refuses_a_copy_not_on_loan() -> None:
    """checked_in_ok = false (Koha's default): ok=0, alert, the face's words; a copy that was
    on loan still comes back ok."""
    async with running("sip2", Clock(), extra=_toml("checked_in_ok = false")) as setup:
        answer = await _checkin(setup, FREE)
        assert not answer.ok and answer.alert
        assert answer.screen_messages == [NOT_ON_LOAN]
        lent = await _checkin(setup, LENT)
        assert lent.ok and not lent.alert and lent.screen_messages == []
        assert setup.sim.item_info(LENT).status != "checked_out"


async def test_copy_caught_for_a_hold_goes_to_the_hold_bin() -> None:
    """A returned copy a hold waits for here: alert, not resensitized, CL the hold bin, CV 01
    (Koha: hold at this library), and the rule's words."""
    body = """
alert_types = true
hold_sort_bin = "HOLDS"
"""
    async with running("sip2", Clock(), extra=_toml(body)) as setup:
        setup.sim.place_hold(CARD, "CEN", biblio_id=4)
        answer = await _checkin(setup, LENT, "CEN")
        assert answer.ok and answer.alert and not answer.resensitize
        assert answer.sort_bin == "HOLDS" and answer.get("CV") == "01"
        plain = await _checkin(setup, FREE)
        assert plain.ok and not plain.alert and plain.sort_bin is None
        assert plain.get("CV") is None


async def test_copy_travelling_for_a_hold_elsewhere() -> None:
    """A hold to be collected at another library: the copy travels — CV 04 (send to another
    library, Koha), and a rule for in-transit copies names the transit bin and CT."""
    body = """
alert_types = true
[[tenants.kiosk_sip2.reply.checkin.sort_rules]]
outcomes = ["in_transit"]
sort_bin = "TRANSIT"
destination = "NIS"
screen_message = "{title}: 回送 ({sort_bin}, CV {alert_type})"
"""
    async with running("sip2", Clock(), extra=_toml(body)) as setup:
        setup.sim.place_hold(CARD, "NIS", biblio_id=4)
        answer = await _checkin(setup, LENT, "CEN")
        assert answer.ok and answer.alert
        assert answer.sort_bin == "TRANSIT" and answer.get("CT") == "NIS"
        assert answer.get("CV") == "04"
        assert answer.screen_messages[-1] == "吾輩は猫である: 回送 (TRANSIT, CV 04)"


async def test_holds_block_checkin() -> None:
    """holds_block_checkin: ok=0, alert, CV 99 and the face's words, so the patron hands the
    copy to staff; no hold bin for a refused return."""
    body = """
holds_block_checkin = true
hold_sort_bin = "HOLDS"
"""
    async with running("sip2", Clock(), extra=_toml(body)) as setup:
        setup.sim.place_hold(CARD, "CEN", biblio_id=4)
        answer = await _checkin(setup, LENT, "CEN")
        assert not answer.ok and answer.alert
        assert answer.get("CV") == "99" and answer.sort_bin is None
        assert answer.screen_messages == ["予約のある資料です。カウンターへお持ちください"]
        plain = await _checkin(setup, FREE)
        assert plain.ok and not plain.alert


async def test_sort_rules_by_kind_and_location_first_match_wins() -> None:
    """Sort bins by the copy's kind and home library; the first rule that holds wins; a rule's
    alert type is sent as CV."""
    body = """
[[tenants.kiosk_sip2.reply.checkin.sort_rules]]
locations = ["NIS"]
sort_bin = "WEST"
alert_type = "04"
[[tenants.kiosk_sip2.reply.checkin.sort_rules]]
material_types = ["book"]
sort_bin = "BOOKS"
[[tenants.kiosk_sip2.reply.checkin.sort_rules]]
sort_bin = "OTHER"
"""
    data = terminal_data()
    async with running("sip2", Clock(), extra=_toml(body), data=data) as setup:
        west = await _checkin(setup, NIS_BOOK, "CEN")
        assert west.sort_bin == "WEST" and west.get("CV") == "04" and west.alert
        book = await _checkin(setup, LENT, "CEN")
        assert book.sort_bin == "BOOKS" and book.get("CV") is None and not book.alert
        dvd = await _checkin(setup, DVD, "CEN")
        assert dvd.sort_bin == "OTHER"


async def test_cv_triggers_alert_and_00_on_success() -> None:
    """cv_triggers_alert: the alert flag is set exactly when a CV other than 00 is;
    cv_send_00_on_success: CV 00 on a plain return."""
    body = """
cv_triggers_alert = true
cv_send_00_on_success = true
"""
    async with running("sip2", Clock(), extra=_toml(body)) as setup:
        plain = await _checkin(setup, LENT, "CEN")
        assert plain.ok and plain.get("CV") == "00" and not plain.alert
        setup.sim.place_hold(CARD, "CEN", biblio_id=4)
        # The copy is back on the shelf: the hold catches it at the next check-in.
        caught = await _checkin(setup, LENT, "CEN")
        assert caught.get("CV") == "01" and caught.alert


async def test_ct_always_send() -> None:
    """ct_always_send: CT even when the face knows no destination."""
    async with running("sip2", Clock(), extra=_toml("ct_always_send = true")) as setup:
        answer = await _checkin(setup, LENT)
        assert answer.get("CT") == ""
    async with running("sip2", Clock()) as setup:
        answer = await _checkin(setup, LENT)
        assert answer.get("CT") is None


async def test_lost_copy_reported_missing_and_alerted() -> None:
    """lost_as_missing (Koha lost_status_for_missing): 18 says missing (13) for a copy the
    library system calls lost; its return is alerted, CV 99 where alert types are sent."""
    extra = "\n[tenants.kiosk_sip2.reply]\nlost_as_missing = true\n" + _toml("alert_types = true")
    data = terminal_data(lost=True)
    async with running("sip2", Clock(), extra=extra, data=data) as setup:
        info = await setup.machine.request(item_information(OVERDUE), idempotent=True)
        assert isinstance(info, ItemInformationResponse)
        assert info.circulation_status is CirculationStatus.MISSING
        back = await _checkin(setup, OVERDUE, "CEN")
        assert back.alert and back.get("CV") == "99"
    async with running("sip2", Clock(), data=terminal_data(lost=True)) as setup:
        info = await setup.machine.request(item_information(OVERDUE), idempotent=True)
        assert info.circulation_status is CirculationStatus.LOST


async def test_checkin_templates_name_the_sort_bin() -> None:
    """AF and AG of a check-in in the library's words, naming the copy and its bin."""
    body = """
hold_sort_bin = "HOLDS"
"""
    reply = """
[tenants.kiosk_sip2.reply]
screen_messages = { checkin = ["{title} を返却しました"] }
print_lines = { checkin = ["{barcode} -> {sort_bin} ({outcome})"] }
"""
    async with running("sip2", Clock(), extra=reply + _toml(body)) as setup:
        setup.sim.place_hold(CARD, "CEN", biblio_id=4)
        answer = await _checkin(setup, LENT, "CEN")
        assert answer.screen_messages[-1] == "吾輩は猫である を返却しました"
        assert answer.print_lines == [f"{LENT} -> HOLDS (hold_shelf)"]


async def test_the_copy_is_read_only_where_rules_need_it() -> None:
    """Default check-in: one 09 to the library system. With check-in rules: the copy is read
    (17) before and after."""

    def asked(setup, logs) -> list[str]:
        face = f":{setup.port}"
        return [
            e["code"]
            for e in logs
            if e["event"] == "sip2.frame"
            and e.get("direction") == "out"
            and not e.get("acs", face).endswith(face)
        ]

    async with running("sip2", Clock()) as setup:
        with structlog.testing.capture_logs() as logs:
            await _checkin(setup, LENT)
        assert asked(setup, logs) == ["09"]
    async with running("sip2", Clock(), extra=_toml("checked_in_ok = false")) as setup:
        with structlog.testing.capture_logs() as logs:
            await _checkin(setup, LENT)
        assert asked(setup, logs) == ["17", "09", "17"]


async def test_shaped_answers_decode_with_pysip2() -> None:
    """A third-party decoder (pysip2, strict) reads the shaped 10 — CL, CV, CT, a custom
    field, AF/AG — as a check-in response with the same sort bin and lines."""
    body = """
alert_types = true
ct_always_send = true
hold_sort_bin = "HOLDS"
"""
    reply = """
[tenants.kiosk_sip2.reply]
custom_item_fields = [{ field = "ZY", template = "{title}" }]
print_lines = { checkin = ["{barcode} -> {sort_bin}"] }
"""
    async with running("sip2", Clock(), extra=reply + _toml(body)) as setup:
        setup.sim.place_hold(CARD, "CEN", biblio_id=4)
        answer = await _checkin(setup, LENT, "CEN")
    frame = encode(answer, CodecSettings(encoding="utf-8"))
    decoded = decode_message(frame, encoding="utf-8").message
    assert isinstance(decoded, pysip2.SIPResponse)
    assert type(decoded).__name__ == "CheckinResponse"
    assert decoded.sort_bin == "HOLDS" and decoded.alert == "Y"
    assert decoded.print_line == (f"{LENT} -> HOLDS",)
