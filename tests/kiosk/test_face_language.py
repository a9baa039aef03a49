"""The kiosk face's screen messages (AF) in the tenant's language, or the one a 23/63 asks for,
in the machine's encoding; a temporary password is named, with the library's page (issue 16)."""

from __future__ import annotations

from datetime import date

import pytest
from kiosk_support import (
    CARD,
    FREE,
    OTHER_CARD,
    OTHER_PASSWORD,
    PASSWORD,
    Clock,
    library_data,
    running,
)
from test_face_sip2 import ask, checkout, info_request, req

from ils_gateway.sip2.messages import PatronStatusRequest

PAGE = "https://library.example.jp/test/password"
TEMPORARY = f"""
[tenants.policy.account]
temporary_password_gate = true

[tenants.password_change]
url = "{PAGE}"
"""


def _temporary_data():
    data = library_data()
    next(p for p in data.patrons if p.card_number == CARD).temporary_password = True
    return data


@pytest.mark.parametrize("shift_jis", [False, True], ids=["utf-8", "cp932"])
async def test_a_temporary_password_is_named_with_the_librarys_page(shift_jis: bool) -> None:
    async with running(
        "sip2", Clock(), shift_jis=shift_jis, data=_temporary_data(), extra=TEMPORARY
    ) as setup:
        info = await ask(setup.machine, info_request())
        assert info.get("BL") == "Y"
        assert f"仮パスワードです。パスワードを変更してください（{PAGE}）" in info.screen_messages
        english = await ask(setup.machine, info_request(language="001"))
        assert f"Temporary password: please change it at {PAGE}" in english.screen_messages
        status = await ask(
            setup.machine,
            req(
                PatronStatusRequest,
                institution_id="TEST",
                patron_identifier=CARD,
                patron_password=PASSWORD,
                language="014",
            ),
        )
        assert any(m.startswith("仮パスワードです") for m in status.screen_messages)


async def test_the_tenants_default_language_and_a_request_for_english() -> None:
    english_tenant = '\n[tenants.language]\ndefault = "en"\n'
    async with running("sip2", Clock(), extra=english_tenant) as setup:
        wrong = await ask(setup.machine, info_request(password="nope"))
        assert wrong.screen_messages == ["Wrong card number or password"]
        asked_ja = await ask(setup.machine, info_request(password="nope", language="014"))
        assert asked_ja.screen_messages == ["カード番号またはパスワードが正しくありません"]
    async with running("sip2", Clock(), shift_jis=True) as setup:
        asked_en = await ask(setup.machine, info_request(password="nope", language="001"))
        assert asked_en.screen_messages == ["Wrong card number or password"]
        default = await ask(setup.machine, info_request(password="nope"))
        assert default.screen_messages == ["カード番号またはパスワードが正しくありません"]


async def test_a_temporary_password_lends_nothing_where_the_tenant_gates_it() -> None:
    # issue 16: the gate refuses a checkout (not just a note), in the tenant's language.
    async with running("sip2", Clock(), data=_temporary_data(), extra=TEMPORARY) as setup:
        refused = await checkout(setup.machine, FREE)
        assert not refused.ok
        assert refused.screen_messages == [
            f"仮パスワードです。パスワードを変更してください（{PAGE}）"
        ]
        assert setup.sim.loans(CARD) == []
    async with running("sip2", Clock(), data=_temporary_data()) as setup:  # no gate: lends
        assert (await checkout(setup.machine, FREE)).ok


def _overdue_data():
    data = library_data()
    data.loans[0].due = date(2026, 1, 5)  # the other patron's loan, overdue on the kiosk's day
    return data


async def test_overdue_items_refuse_the_kiosk_where_the_tenant_refuses_the_login() -> None:
    # issue 16 (Kanagawa: 「現在この利用者番号は使えません」): the kiosk face logs in as the web.
    refusing = "\n[tenants.policy.account]\nlogin_when_overdue = false\n"
    async with running("sip2", Clock(), data=_overdue_data(), extra=refusing) as setup:
        refused = await checkout(setup.machine, FREE, card=OTHER_CARD, password=OTHER_PASSWORD)
        assert not refused.ok
        assert refused.screen_messages == ["延滞資料があります"], refused.screen_messages
    async with running("sip2", Clock(), data=_overdue_data()) as setup:
        lent = await checkout(setup.machine, FREE, card=OTHER_CARD, password=OTHER_PASSWORD)
        assert lent.screen_messages != ["延滞資料があります"]
