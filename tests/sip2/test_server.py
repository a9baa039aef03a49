"""The generic SIP2 server face: handler calls, resend rules, shutdown, TLS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings, TLSSettings
from ils_gateway.sip2.codec import encode, parse
from ils_gateway.sip2.fields import CirculationStatus, SipDate
from ils_gateway.sip2.messages import (
    ACSStatus,
    ItemInformationRequest,
    ItemInformationResponse,
    Message,
    RequestACSResend,
    SCStatus,
)
from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings, SIP2Session

NOW = SipDate("20250602    100000")


class CountingHandler:
    """Answers 99 and 17; counts calls; can be held at a gate or made to fail on 17."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()
        self.fail = False

    async def __call__(self, message: Message, session: SIP2Session) -> Message:
        self.calls += 1
        if isinstance(message, SCStatus):
            return ACSStatus.build(
                online_status=True,
                checkin_ok=True,
                checkout_ok=True,
                acs_renewal_policy=False,
                status_update_ok=False,
                offline_ok=False,
                timeout_period=10,
                retries_allowed=3,
                date_time_sync=NOW,
                institution_id="T",
                supported_messages="Y" * 16,
            )
        assert isinstance(message, ItemInformationRequest)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("the ILS fell over")
        return ItemInformationResponse.build(
            circulation_status=CirculationStatus.AVAILABLE,
            transaction_date=NOW,
            item_identifier=message.item_identifier,
            title_identifier=f"title of {message.item_identifier}",
        )


def item(barcode: str, sequence: int) -> bytes:
    return encode(
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="T", item_identifier=barcode, sequence=sequence
        )
    )


async def test_requests_answered_and_97_before_any_answer_gets_96() -> None:
    handler = CountingHandler()
    async with SIP2Server(handler) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(RequestACSResend()))
        assert (await reader.readuntil(b"\r")).startswith(b"96")
        writer.write(item("A1", 0))
        answer = parse(await reader.readuntil(b"\r"))
        assert answer.item_identifier == "A1" and answer.sequence == 0
        writer.close()
    assert handler.calls == 1


async def test_a_failing_handler_drops_that_connection_only() -> None:
    handler = CountingHandler()
    async with SIP2Server(handler) as server:
        r1, w1 = await asyncio.open_connection("127.0.0.1", server.port)
        r2, w2 = await asyncio.open_connection("127.0.0.1", server.port)
        handler.fail = True
        w1.write(item("A1", 0))
        assert await r1.read() == b""
        handler.fail = False
        w2.write(item("A2", 0))
        assert parse(await r2.readuntil(b"\r")).item_identifier == "A2"
        w1.close()
        w2.close()


async def test_shutdown_answers_the_request_in_flight_and_closes_idle_connections() -> None:
    handler = CountingHandler()
    handler.gate = asyncio.Event()
    server = SIP2Server(handler)
    await server.start()
    busy_r, busy_w = await asyncio.open_connection("127.0.0.1", server.port)
    idle_r, idle_w = await asyncio.open_connection("127.0.0.1", server.port)
    busy_w.write(item("A1", 0))
    await handler.arrived.wait()
    closing = asyncio.create_task(server.aclose())
    assert await idle_r.read() == b""  # the idle connection is closed at once
    assert not closing.done()
    handler.gate.set()
    assert parse(await busy_r.readuntil(b"\r")).item_identifier == "A1"
    assert await busy_r.read() == b""
    await closing
    assert server.connection_count == 0
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
    busy_w.close()
    idle_w.close()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_between_the_pool_and_the_server(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = CountingHandler()
    async with SIP2Server(handler, SIP2ServerSettings(ssl=context)) as server:
        settings = SIP2ClientSettings(
            host="127.0.0.1",
            port=server.port,
            tls=TLSSettings(ca_file=cert, server_hostname="localhost"),
        )
        async with SIP2ClientPool(settings) as pool:
            answer = await pool.request(
                ItemInformationRequest.build(
                    transaction_date=NOW, institution_id="T", item_identifier="TLS-1"
                ),
                idempotent=True,
            )
        assert answer.title_identifier == "title of TLS-1"
