"""A self-check machine cancelling a ready hold in front of newer Koha (cancellation request
flow): the face answers ok with a screen message saying the cancel is only requested, and the
hold stays with the library; a waiting hold's cancel is a plain cancel (issue 4)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kiosk_support import CARD, FREE, LENT, PASSWORD, Clock, running

from ils_gateway.simulators.policy import HoldState
from ils_gateway.sip2.fields import HoldMode, SipDate
from ils_gateway.sip2.messages import HoldRequest

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))


def _cancel(hold_id: int) -> HoldRequest:
    return HoldRequest.build(
        transaction_date=_WHEN,
        hold_mode=HoldMode.DELETE,
        institution_id="TEST",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        title_identifier=str(hold_id),
    )


async def test_a_ready_hold_cancel_is_only_requested_at_the_kiosk(tmp_path: Path) -> None:
    async with running("koha", Clock(), tmp_path, koha_request_flow=True) as setup:
        ready = setup.sim.place_hold(CARD, "CEN", barcode=FREE)  # on the shelf: pulled at once
        waiting = setup.sim.place_hold(CARD, "CEN", barcode=LENT)  # on loan: waits

        requested = await setup.machine.request(_cancel(ready.hold_id), idempotent=False)

        assert requested.ok, requested.screen_messages
        assert requested.screen_messages == [
            "取消を受け付けました。図書館で手続きのうえ取り消します"
        ]
        after = setup.sim.hold_by_id(ready.hold_id)
        assert after.state.is_open and after.cancellation_requested

        cancelled = await setup.machine.request(_cancel(waiting.hold_id), idempotent=False)

        assert cancelled.ok, cancelled.screen_messages
        assert cancelled.screen_messages == []
        assert setup.sim.hold_by_id(waiting.hold_id).state is HoldState.CANCELLED
