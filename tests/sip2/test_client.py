"""The SIP2 client pool against the simulated ACS, with deterministic faults on the wire.

``FaultyACS`` is a raw asyncio server built on the same sans-I/O connection and the
simulator's handler; it misbehaves on the Nth occurrence of a request code (close mid-frame,
garble the checksum, ask for a resend, never answer). No test sleeps to wait for anything;
the timeout tests wait for the client's own (short) timeout to fire.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import structlog

from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import SimulatedACS, start_sip2_simulator
from ils_gateway.sip2.client import (
    ClientTimeouts,
    SIP2ClientPool,
    SIP2ClientSettings,
    SIP2ConnectionError,
    SIP2OutcomeUnknown,
    SIP2PoolClosed,
    SIP2ProtocolError,
    SIP2Timeout,
)
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.sip2.connection import (
    CLOSED,
    NEED_DATA,
    BadFrame,
    RepeatedRequest,
    Role,
    SIP2Connection,
)
from ils_gateway.sip2.fields import SipDate, Summary, SummaryItem
from ils_gateway.sip2.messages import (
    ItemInformationRequest,
    Message,
    PatronInformationRequest,
    RenewRequest,
    RequestACSResend,
    RequestSCResend,
)
from ils_gateway.sip2.server import SIP2Session

HANAKO, HANAKO_PW = "1000000001", "hanako01"
NOW = SipDate("20250602    100000")


class FaultyACS:
    """A SIP2 server that acts on requests like the simulator but breaks on chosen frames.

    ``faults[(code, n)]`` is what to do the n-th time request ``code`` arrives (counted over
    all connections): ``close_mid_frame`` (act, write half the answer, close),
    ``bad_checksum`` (act, answer with a wrong AZ; a 97 then gets the right bytes),
    ``ask_resend`` (answer 96 without acting), ``silent`` (act, never answer).
    """

    def __init__(self, library: SimulatedLibrary, faults: dict[tuple[str, int], str]) -> None:
        self.acs = SimulatedACS(library)
        self.faults = faults
        self.seen: Counter[str] = Counter()
        self.resend_requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = SIP2Connection(Role.SERVER, CodecSettings())
        session = SIP2Session(0, "test")
        try:
            while True:
                event = conn.next_event()
                if event is NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                    continue
                if event is CLOSED:
                    return
                if isinstance(event, BadFrame):
                    out = conn.send(RequestSCResend())
                elif isinstance(event, RepeatedRequest | RequestACSResend):
                    self.resend_requests += isinstance(event, RequestACSResend)
                    out = conn.resend()
                else:
                    assert isinstance(event, Message)
                    self.seen[event.code] += 1
                    fault = self.faults.get((event.code, self.seen[event.code]))
                    if fault == "ask_resend":
                        out = conn.send(RequestSCResend())
                    else:
                        out = conn.send(await self.acs.handle(event, session))
                        if fault == "close_mid_frame":
                            writer.write(out[: len(out) // 2])
                            await writer.drain()
                            return
                        if fault == "bad_checksum":
                            wrong = b"0000" if out[-5:-1] != b"0000" else b"0001"
                            out = out[:-5] + wrong + out[-1:]
                        if fault == "silent":
                            await asyncio.Event().wait()
                writer.write(out)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


def settings_for(port: int, **overrides: object) -> SIP2ClientSettings:
    values: dict[str, object] = {"host": "127.0.0.1", "port": port, "pool_size": 2}
    values.update(overrides)
    return SIP2ClientSettings(**values)  # type: ignore[arg-type]


def item_info(barcode: str) -> ItemInformationRequest:
    return ItemInformationRequest.build(
        transaction_date=NOW, institution_id="MIDORI", item_identifier=barcode
    )


def renew(barcode: str) -> RenewRequest:
    return RenewRequest.build(
        transaction_date=NOW,
        institution_id="MIDORI",
        patron_identifier=HANAKO,
        patron_password=HANAKO_PW,
        item_identifier=barcode,
    )


def renewals_of(library: SimulatedLibrary, barcode: str) -> int:
    return next(loan.renewals for loan in library.loans(HANAKO) if loan.barcode == barcode)


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture
def renewable(library: SimulatedLibrary) -> str:
    return next(loan.barcode for loan in library.loans(HANAKO) if loan.renewable)


@contextlib.asynccontextmanager
async def faulty(
    library: SimulatedLibrary, faults: dict[tuple[str, int], str], **overrides: object
) -> AsyncIterator[tuple[FaultyACS, SIP2ClientPool]]:
    acs = FaultyACS(library, faults)
    port = await acs.start()
    pool = SIP2ClientPool(settings_for(port, **overrides))
    await pool.start()
    try:
        yield acs, pool
    finally:
        await pool.aclose()
        await acs.aclose()


async def test_read_is_retried_once_after_the_acs_closes_mid_frame(
    library: SimulatedLibrary,
) -> None:
    async with faulty(library, {("17", 1): "close_mid_frame"}) as (acs, pool):
        answer = await pool.request(item_info("2100000001"), idempotent=True)
    assert answer.item_identifier == "2100000001"
    assert acs.seen["17"] == 2


async def test_read_fails_when_the_retry_breaks_too(library: SimulatedLibrary) -> None:
    faults = {("17", 1): "close_mid_frame", ("17", 2): "close_mid_frame"}
    async with faulty(library, faults) as (_acs, pool):
        with pytest.raises(SIP2ConnectionError):
            await pool.request(item_info("2100000001"), idempotent=True)
        # The pool is still usable: the broken connections were thrown away.
        answer = await pool.request(item_info("2100000001"), idempotent=True)
        assert answer.code == "18"


async def test_the_pools_retry_policy_sets_how_often_a_read_is_tried(
    library: SimulatedLibrary,
) -> None:
    faults = {("17", 1): "close_mid_frame", ("17", 2): "close_mid_frame"}
    acs = FaultyACS(library, faults)
    port = await acs.start()
    policy = RetryPolicy(attempts=3, first_wait=0.0, max_wait=0.0)
    try:
        async with SIP2ClientPool(settings_for(port), retry=policy) as pool:
            answer = await pool.request(item_info("2100000001"), idempotent=True)
    finally:
        await acs.aclose()
    assert answer.item_identifier == "2100000001"
    assert acs.seen["17"] == 3


async def test_write_broken_mid_frame_is_outcome_unknown_and_not_resent(
    library: SimulatedLibrary, renewable: str
) -> None:
    before = renewals_of(library, renewable)
    async with faulty(library, {("29", 1): "close_mid_frame"}) as (acs, pool):
        with pytest.raises(SIP2OutcomeUnknown) as caught:
            await pool.request(renew(renewable), idempotent=False)
    assert caught.value.code == "29"
    assert acs.seen["29"] == 1  # never sent twice
    assert renewals_of(library, renewable) == before + 1  # ...and it did happen


async def test_bad_checksum_then_97_gets_the_cached_answer_renewal_counted_once(
    library: SimulatedLibrary, renewable: str
) -> None:
    before = renewals_of(library, renewable)
    async with faulty(library, {("29", 1): "bad_checksum"}) as (acs, pool):
        answer = await pool.request(renew(renewable), idempotent=False)
    assert answer.ok
    assert acs.resend_requests == 1
    assert acs.seen["29"] == 1
    assert renewals_of(library, renewable) == before + 1


async def test_96_from_the_acs_makes_the_client_resend_the_same_request(
    library: SimulatedLibrary, renewable: str
) -> None:
    before = renewals_of(library, renewable)
    async with faulty(library, {("29", 1): "ask_resend"}) as (acs, pool):
        answer = await pool.request(renew(renewable), idempotent=False)
    assert answer.ok
    assert acs.seen["29"] == 2  # the first was refused unread, the second acted on
    assert renewals_of(library, renewable) == before + 1


async def test_endless_96_is_a_protocol_error(library: SimulatedLibrary) -> None:
    faults = {("17", n): "ask_resend" for n in range(1, 20)}
    async with faulty(library, faults) as (acs, pool):
        with pytest.raises(SIP2ProtocolError):
            await pool.request(item_info("2100000001"), idempotent=True)
    assert acs.seen["17"] == 2 * (1 + 3)  # two tries, each with at most 3 resends (98 says 3)


async def test_timeout_on_a_read_retries_then_succeeds(library: SimulatedLibrary) -> None:
    timeouts = ClientTimeouts(connect=5.0, request=0.2, pool=5.0)
    async with faulty(library, {("17", 1): "silent"}, timeouts=timeouts) as (acs, pool):
        answer = await pool.request(item_info("2100000001"), idempotent=True)
    assert answer.code == "18" and acs.seen["17"] == 2


async def test_timeout_on_a_write_is_outcome_unknown(
    library: SimulatedLibrary, renewable: str
) -> None:
    timeouts = ClientTimeouts(connect=5.0, request=0.2, pool=5.0)
    async with faulty(library, {("29", 1): "silent"}, timeouts=timeouts) as (acs, pool):
        with pytest.raises(SIP2OutcomeUnknown) as caught:
            await pool.request(renew(renewable), idempotent=False)
        assert isinstance(caught.value.__cause__, TimeoutError)
        # The next request uses a fresh connection: the late answer cannot be taken for it.
        answer = await pool.request(item_info(renewable), idempotent=True)
        assert answer.item_identifier == renewable
    assert acs.seen["29"] == 1


async def test_read_timeout_twice_is_SIP2Timeout(library: SimulatedLibrary) -> None:
    timeouts = ClientTimeouts(connect=5.0, request=0.1, pool=5.0)
    faults = {("17", 1): "silent", ("17", 2): "silent"}
    async with faulty(library, faults, timeouts=timeouts) as (_acs, pool):
        with pytest.raises(SIP2Timeout):
            await pool.request(item_info("2100000001"), idempotent=True)


async def test_pool_reconnects_after_the_acs_restarts(library: SimulatedLibrary) -> None:
    server, _ = await start_sip2_simulator(library)
    port = server.port
    pool = SIP2ClientPool(settings_for(port))
    await pool.start()
    try:
        assert (await pool.request(item_info("2100000001"), idempotent=True)).code == "18"
        await server.aclose()  # closes our idle connection
        server, _ = await start_sip2_simulator(library, port=port)
        answer = await pool.request(item_info("2100000002"), idempotent=True)
        assert answer.item_identifier == "2100000002"
    finally:
        await pool.aclose()
        await server.aclose()


async def test_unreachable_acs_is_a_connection_error() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(SIP2ConnectionError):
        await SIP2ClientPool(settings_for(port)).start()


async def test_200_concurrent_requests_each_get_their_own_answer(
    library: SimulatedLibrary,
) -> None:
    server, _ = await start_sip2_simulator(library)
    barcodes = [item.barcode for item in library.data.items[:200]]
    assert len(set(barcodes)) == 200
    try:
        async with SIP2ClientPool(settings_for(server.port, pool_size=8)) as pool:
            answers = await asyncio.gather(
                *(pool.request(item_info(b), idempotent=True) for b in barcodes)
            )
            assert pool.open_connections <= 8
    finally:
        await server.aclose()
    for barcode, answer in zip(barcodes, answers, strict=True):
        assert answer.item_identifier == barcode
        assert answer.title_identifier == library.item_info(barcode).title


async def test_pool_refuses_use_before_start_and_after_close(library: SimulatedLibrary) -> None:
    server, _ = await start_sip2_simulator(library)
    pool = SIP2ClientPool(settings_for(server.port))
    with pytest.raises(SIP2PoolClosed):
        await pool.request(item_info("x"), idempotent=True)
    await pool.start()
    await pool.aclose()
    with pytest.raises(SIP2PoolClosed):
        await pool.request(item_info("x"), idempotent=True)
    await server.aclose()


async def test_close_waits_for_the_request_in_flight(library: SimulatedLibrary) -> None:
    server, acs = await start_sip2_simulator(library)
    gate = asyncio.Event()
    arrived = asyncio.Event()
    original = acs.handle

    async def held(message: Message, session: SIP2Session) -> Message:
        if message.code == "17":
            arrived.set()
            await gate.wait()
        return await original(message, session)

    server.handler = held
    pool = SIP2ClientPool(settings_for(server.port))
    await pool.start()
    in_flight = asyncio.create_task(pool.request(item_info("2100000001"), idempotent=True))
    await arrived.wait()
    closing = asyncio.create_task(pool.aclose())
    await asyncio.sleep(0)
    assert not closing.done()
    gate.set()
    assert (await in_flight).code == "18"
    await closing
    assert pool.open_connections == 0
    await server.aclose()


async def test_frame_logs_hide_passwords_and_card_numbers(library: SimulatedLibrary) -> None:
    server, _ = await start_sip2_simulator(library, logins={"kiosk-1": "S3cret-login"})
    settings = settings_for(server.port, login_user="kiosk-1", login_password="S3cret-login")
    request = PatronInformationRequest.build(
        transaction_date=NOW,
        summary=Summary(),
        institution_id="MIDORI",
        patron_identifier=HANAKO,
        patron_password=HANAKO_PW,
        terminal_password="term-pw",
    )
    with structlog.testing.capture_logs() as logs:
        async with SIP2ClientPool(settings) as pool:
            answer = await pool.request(request, idempotent=True)
        await server.aclose()
    assert answer.personal_name == "山田 花子"
    frames = [e for e in logs if e["event"] == "sip2.frame"]
    assert {(e["code"], e["direction"]) for e in frames} >= {("93", "out"), ("64", "in")}
    text = repr(logs)
    for secret in ("S3cret-login", HANAKO_PW, "term-pw", HANAKO, "山田", "hanako@example.jp"):
        assert secret not in text
    assert "******0001" in text  # masked card keeps the last four digits


async def test_frames_are_not_prepared_for_logging_when_debug_lines_are_dropped(
    library: SimulatedLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from ils_gateway.sip2 import client as client_module
    from ils_gateway.sip2 import server as server_module

    prepared: list[str] = []
    real = client_module.loggable

    def counting(message):  # type: ignore[no-untyped-def]
        prepared.append(message.code)
        return real(message)

    monkeypatch.setattr(client_module, "loggable", counting)
    monkeypatch.setattr(server_module, "loggable", counting)
    server, _ = await start_sip2_simulator(library)
    request = PatronInformationRequest.build(
        transaction_date=NOW, summary=Summary(), institution_id="MIDORI", patron_identifier=HANAKO
    )
    try:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        async with SIP2ClientPool(settings_for(server.port)) as pool:
            await pool.request(request, idempotent=True)
        assert prepared == []
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
        async with SIP2ClientPool(settings_for(server.port)) as pool:
            await pool.request(request, idempotent=True)
        assert "63" in prepared and "64" in prepared
    finally:  # the suite's fixture puts structlog's configuration back
        await server.aclose()


async def test_log_frames_logs_redacted_frames_at_info(library: SimulatedLibrary) -> None:
    """A tenant's ``log_frames`` (issue 17): frames at info, passwords, cards, items, titles
    and names hidden by the one redaction table, while debug lines stay dropped."""
    import logging

    server, _ = await start_sip2_simulator(library, logins={"kiosk-1": "S3cret-login"})
    settings = settings_for(
        server.port, login_user="kiosk-1", login_password="S3cret-login", log_frames=True
    )
    request = PatronInformationRequest.build(
        transaction_date=NOW,
        summary=Summary.of(SummaryItem.CHARGED_ITEMS),
        institution_id="MIDORI",
        patron_identifier=HANAKO,
        patron_password=HANAKO_PW,
        terminal_password="term-pw",
    )
    try:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        with structlog.testing.capture_logs() as logs:
            async with SIP2ClientPool(settings) as pool:
                answer = await pool.request(request, idempotent=True)
    finally:  # the suite's fixture puts structlog's configuration back
        await server.aclose()
    frames = [e for e in logs if e["event"] == "sip2.frame"]
    assert {(e["code"], e["direction"]) for e in frames} >= {("93", "out"), ("64", "in")}
    assert {e["log_level"] for e in frames} == {"info"}
    charged = answer.charged_items
    assert charged  # the 64 lists items: none of them may appear
    text = repr(logs)
    for secret in ("S3cret-login", HANAKO_PW, "term-pw", HANAKO, "山田", *charged):
        assert secret not in text
    assert "******0001" in text
