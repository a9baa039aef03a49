"""The server face's limits against a hostile client (issue 15): field length, connections per
server and per address, idle connections, a frame sent one byte at a time (slowloris).

Loop time is fast-forwarded (``looptime``): a 30-minute idle timeout costs no real time and the
loop clock says when the server closed.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import structlog
from test_server import CountingHandler as Handler
from test_server import item

from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings

pytestmark = pytest.mark.looptime


async def _connect_from(
    address: str, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client connection from another loopback address (the server listens on 127.0.0.1)."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))


async def _answer(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r")
    except asyncio.IncompleteReadError as exc:
        return exc.partial


async def test_a_field_over_the_limit_closes_the_connection_unanswered() -> None:
    settings = SIP2ServerSettings(max_field_chars=12)
    handler = Handler()
    async with SIP2Server(handler, settings) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(item("x" * 12, 0))
        assert (await _answer(reader)).startswith(b"18")
        with structlog.testing.capture_logs() as logs:
            writer.write(item("x" * 13, 1))
            assert await _answer(reader) == b""
        writer.close()
    assert handler.calls == 1
    [refused] = [e for e in logs if e["event"] == "sip2.server.field_too_long"]
    assert refused["field"] == "AB" and refused["limit"] == 12
    assert "x" * 13 not in repr(refused)


def test_the_field_limit_defaults_to_the_specification() -> None:
    assert SIP2ServerSettings().max_field_chars == 255


async def test_connections_beyond_the_limits_are_closed_at_once() -> None:
    settings = SIP2ServerSettings(max_connections=3, max_connections_per_address=2)
    async with SIP2Server(Handler(), settings) as server:
        kept = []
        for _ in range(2):
            kept.append(await asyncio.open_connection("127.0.0.1", server.port))
        # A third from the same address is closed without a word.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await reader.read() == b""
        writer.close()
        # Another address is let in, up to the server's limit.
        kept.append(await _connect_from("127.0.0.2", server.port))
        reader, writer = await _connect_from("127.0.0.3", server.port)
        assert await reader.read() == b""
        writer.close()
        # The ones let in are served.
        for r, w in kept:
            w.write(item("1", 0))
            assert (await _answer(r)).startswith(b"18")
        assert server.connection_count == 3
        for _r, w in kept:
            w.close()


async def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    settings = SIP2ServerSettings(idle_timeout=1800.0)
    async with SIP2Server(Handler(), settings) as server:
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(item("1", 0))
        await _answer(reader)
        answered = loop.time()
        assert await reader.read() == b""
        assert loop.time() - answered == pytest.approx(1800.0, abs=1.0)
        writer.close()


def test_defaults_bound_idle_and_half_sent_connections() -> None:
    defaults = SIP2ServerSettings()
    assert defaults.idle_timeout == 1800.0 and defaults.frame_deadline == 30.0
    assert defaults.max_connections == 200 and defaults.max_connections_per_address == 16


async def test_a_frame_trickled_in_is_cut_at_the_frame_deadline() -> None:
    settings = SIP2ServerSettings(idle_timeout=1800.0, frame_deadline=30.0)
    handler = Handler()
    async with SIP2Server(handler, settings) as server:
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = loop.time()
        closed = False
        # One byte every 10 s: each well inside the idle timeout, the frame never done in 30 s.
        for byte in item("1", 0)[:-1]:
            writer.write(bytes([byte]))
            try:
                await asyncio.wait_for(reader.read(1), 10.0)
            except TimeoutError:
                continue
            closed = True
            break
        assert closed
        assert loop.time() - started == pytest.approx(30.0, abs=10.5)
        assert handler.calls == 0
        writer.close()


async def test_a_frame_completed_in_time_is_answered() -> None:
    settings = dataclasses.replace(SIP2ServerSettings(), frame_deadline=30.0)
    async with SIP2Server(Handler(), settings) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        frame = item("1", 0)
        writer.write(frame[:10])
        await asyncio.sleep(29.0)  # loop time: fast-forwarded
        writer.write(frame[10:])
        assert (await _answer(reader)).startswith(b"18")
        # The deadline starts again with the next frame.
        writer.write(item("2", 1)[:5])
        await asyncio.sleep(29.0)
        writer.write(item("2", 1)[5:])
        assert (await _answer(reader)).startswith(b"18")
        writer.close()
