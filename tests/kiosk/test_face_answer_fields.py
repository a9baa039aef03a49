"""The fixed fields of the kiosk face's circulation answers, ok and refused, pinned: the face
builds them through ``sip2.acs`` (shared with the simulator's ACS), and a machine acts on
them (desensitize the copy or not, offer a renewal or not)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from kiosk_support import CARD, FREE, LENT, PASSWORD, Clock, Setup, running
from test_face_sip2 import ask, checkout, req

from ils_gateway.sip2.fields import HoldMode
from ils_gateway.sip2.messages import (
    CheckinRequest,
    CheckinResponse,
    HoldRequest,
    HoldResponse,
    RenewRequest,
    RenewResponse,
)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with running("sip2", Clock()) as s:
        yield s


def _flags(answer: object) -> tuple[object, ...]:
    return tuple(
        getattr(answer, name) for name in ("ok", "renewal_ok", "magnetic_media", "desensitize")
    )


async def test_checkout_and_renewal_answers_say_desensitize_only_when_lent(setup: Setup) -> None:
    lent = await checkout(setup.machine, FREE)
    assert _flags(lent) == (True, False, None, True)
    assert lent.get("AA") == CARD and lent.get("AB") == FREE and lent.get("AO") == "TEST"
    assert lent.get("AJ") == "ぐりとぐら" and (lent.get("AH") or "").strip()

    refused = await checkout(setup.machine, LENT)
    assert _flags(refused) == (False, False, None, False)
    assert refused.get("AB") == LENT and refused.get("AJ") == ""

    def renew() -> RenewRequest:
        return req(
            RenewRequest,
            institution_id="TEST",
            patron_identifier=CARD,
            patron_password=PASSWORD,
            item_identifier=FREE,
        )

    renewed = await ask(setup.machine, renew(), idempotent=False)
    assert isinstance(renewed, RenewResponse)
    assert _flags(renewed) == (True, True, None, True)
    assert renewed.get("AJ") == "ぐりとぐら" and (renewed.get("AH") or "").strip()
    again = await ask(setup.machine, renew(), idempotent=False)
    assert _flags(again) == (False, False, None, False)
    assert again.get("AJ") == "" and not (again.get("AH") or "").strip()


async def test_refused_checkin_and_hold_answers(setup: Setup) -> None:
    back = await ask(
        setup.machine,
        req(CheckinRequest, institution_id="TEST", item_identifier="0000"),
        idempotent=False,
    )
    assert isinstance(back, CheckinResponse)
    assert (back.ok, back.resensitize, back.alert) == (False, False, True)
    assert back.get("AQ") == "" and back.get("AB") == "0000"

    hold = await ask(
        setup.machine,
        req(
            HoldRequest,
            hold_mode=HoldMode.DELETE,
            institution_id="TEST",
            patron_identifier=CARD,
            patron_password=PASSWORD,
            item_identifier=FREE,
        ),
        idempotent=False,
    )
    assert isinstance(hold, HoldResponse)
    assert (hold.ok, hold.available) == (False, False)
    assert hold.get("AB") == FREE and hold.screen_messages == ["該当する予約がありません"]
