"""Sip2Backend's wire behaviour: paging, round trips per loan list, failures translated."""

from __future__ import annotations

import asyncio
import math
import socket

import pytest
from sip2_acs_recording import LOGIN_PASSWORD, LOGIN_USER, RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    HoldRefused,
    OutcomeUnknown,
)
from ils_gateway.domain.vocab import RefusalReason
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.outcomes import Refusal
from ils_gateway.simulators.records import ItemStatus
from ils_gateway.sip2.codec import CodecSettings, encode
from ils_gateway.sip2.fields import SipDate
from ils_gateway.sip2.messages import ACSStatus, LoginResponse, Message
from ils_gateway.sip2.server import SIP2Server, SIP2Session

HANAKO = ("1000000001", "hanako01")


class Waves:
    """Holds 17 requests until ``width`` are in flight (or no more are due): counts waves.

    Deterministic: a wave is released by the arrival of its last request, never by a clock.
    A client sending them one at a time would never fill a wave (the test's timeout fails it).
    """

    def __init__(self, total: int, width: int) -> None:
        self.left = total
        self.width = width
        self.waves = 0
        self._size = 0
        self._event = asyncio.Event()

    async def enter(self) -> None:
        event = self._event
        self._size += 1
        if self._size == min(self.width, self.left):
            self.left -= self._size
            self.waves += 1
            self._size = 0
            self._event = asyncio.Event()
            event.set()
        else:
            await event.wait()


def give_loans(library: SimulatedLibrary, card: str, count: int) -> None:
    """Check out available copies to ``card`` until it has ``count`` loans."""
    have = len(library.loans(card))
    for item in library.data.items:
        if have >= count:
            return
        if item.status is not ItemStatus.AVAILABLE or item.not_for_loan:
            continue
        try:
            library.checkout(card, item.barcode)
        except Refusal:
            continue
        have += 1
    raise AssertionError("not enough copies to lend")


async def test_loans_of_20_take_one_plus_ceil_20_over_pool_round_trips(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> None:
    recording, server = acs
    give_loans(library, "1000000007", 20)
    pool_size = 4
    adapter = Sip2Backend(backend_config(server.port, pool_size=pool_size), today=library.today)
    waves = Waves(total=20, width=pool_size)

    async def gate(message: Message, session: SIP2Session, handle) -> Message:
        if message.code == "17":
            await waves.enter()
        return await handle(message, session)

    try:
        patron = await adapter.authenticate("1000000007", "tadashi7")
        recording.log.clear()
        recording.intercept = gate
        async with asyncio.timeout(10):
            loans = await adapter.list_loans(patron)
    finally:
        await adapter.close()
    assert len(loans) == 20
    assert recording.counts["63"] == 1
    assert recording.counts["17"] == 20
    round_trips = recording.counts["63"] + waves.waves
    assert round_trips == 1 + math.ceil(20 / pool_size) == 6


async def test_lists_are_paged_when_the_acs_caps_a_page(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> None:
    recording, server = acs
    recording.acs.page_limit = 3
    give_loans(library, "1000000007", 8)
    adapter = Sip2Backend(backend_config(server.port), today=library.today)
    try:
        patron = await adapter.authenticate("1000000007", "tadashi7")
        recording.log.clear()
        loans = await adapter.list_loans(patron)
    finally:
        await adapter.close()
    assert {loan.id for loan in loans} == {v.barcode for v in library.loans("1000000007")}
    assert len(loans) == 8
    assert recording.counts["63"] == 3  # 3 + 3 + 2


async def test_server_down_is_backend_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = Sip2Backend(backend_config(port))
    try:
        with pytest.raises(BackendUnavailable):
            await adapter.authenticate(*HANAKO)
    finally:
        await adapter.close()


async def test_wrong_gateway_login_is_backend_unavailable(
    acs: tuple[RecordingACS, SIP2Server],
) -> None:
    _, server = acs
    config = backend_config(server.port, login_password=LOGIN_PASSWORD + "x")
    adapter = Sip2Backend(config)
    try:
        with pytest.raises(BackendUnavailable) as info:
            await adapter.start()
        assert LOGIN_PASSWORD not in str(info.value.operator_detail)
        assert LOGIN_USER in str(info.value.operator_detail)
    finally:
        await adapter.close()


async def test_renewal_with_lost_answer_is_outcome_unknown(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary, backend: Sip2Backend
) -> None:
    recording, _ = acs
    due_before = library.item_info("2100000001").due

    async def drop_after_acting(message: Message, session: SIP2Session, handle) -> Message:
        answer = await handle(message, session)
        if message.code == "29":
            raise ConnectionResetError("answer lost")  # the server drops the connection
        return answer

    patron = await backend.authenticate(*HANAKO)
    recording.intercept = drop_after_acting
    with pytest.raises(OutcomeUnknown):
        await backend.renew(patron, "2100000001")
    assert library.item_info("2100000001").due != due_before  # it did happen
    assert recording.counts["29"] == 1  # and was not sent twice


async def test_garbled_answer_is_backend_protocol_error() -> None:
    """An ACS (error detection off) that logs in fine, then answers 17 with a broken frame."""
    settings = CodecSettings(error_detection=False)
    status = ACSStatus.build(
        online_status=True,
        checkin_ok=True,
        checkout_ok=True,
        acs_renewal_policy=True,
        status_update_ok=True,
        offline_ok=False,
        timeout_period=30,
        retries_allowed=3,
        date_time_sync=SipDate.none(),
        supported_messages="Y" * 16,
    )
    answers = {
        b"93": encode(LoginResponse.build(ok=True), settings),
        b"99": encode(status, settings),
    }

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while frame := await reader.readuntil(b"\r"):
            writer.write(answers.get(frame[:2], b"18garbled\r"))
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    adapter = Sip2Backend(backend_config(port, error_detection=False))
    try:
        with pytest.raises(BackendProtocolError):
            await adapter.get_item("2100000001")
    finally:
        await adapter.close()
        server.close()


async def test_pickup_change_by_replacing_the_hold_when_the_tenant_opts_in(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> None:
    recording, server = acs
    adapter = Sip2Backend(backend_config(server.port), today=library.today, pickup_change="replace")
    try:
        patron = await adapter.authenticate(*HANAKO)
        hold = await adapter.place_hold(patron, "2100000060", "KITA")
        recording.log.clear()
        moved = await adapter.change_hold(patron, hold.id, pickup_library="MINAMI")
    finally:
        await adapter.close()
    assert moved.pickup_library == "MINAMI"
    # cancel, read the list back (the hold is gone), then place again: no 15 with mode '*'
    assert recording.log[0] == "15" and recording.log[-1] == "15"
    assert "15" not in recording.log[1:-1] and "63" in recording.log[1:-1]
    biblio = library.item_info("2100000060").biblio_id
    open_holds = [v for v in library.holds("1000000001") if v.biblio_id == biblio]
    assert [v.pickup for v in open_holds] == ["MINAMI"]


async def test_a_replace_whose_cancel_is_only_requested_places_no_second_hold(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> None:
    # the simulator keeps a ready hold on cancel (a request for staff) and answers 16 ok=1
    _recording, server = acs
    adapter = Sip2Backend(backend_config(server.port), today=library.today, pickup_change="replace")
    try:
        patron = await adapter.authenticate(*HANAKO)
        with pytest.raises(HoldRefused) as refused:
            await adapter.change_hold(patron, "2100000068", pickup_library="MINAMI")
    finally:
        await adapter.close()
    assert refused.value.reason is RefusalReason.NOT_MODIFIABLE_IN_STATE
    kept = [v for v in library.holds("1000000001") if v.hold_id == 12]
    assert kept[0].cancellation_requested
    assert len(library.holds("1000000001")) == 7  # nothing placed again
