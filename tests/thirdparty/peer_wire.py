"""What went over the wire, judged by a third party: a recording TCP relay and pysip2's codec.

``FrameTap`` sits between a SIP2 client and server on 127.0.0.1 (port 0) and records the
bytes of each direction as it passes them on, so whatever a peer received is recorded (a test
may change a chunk on the way: ``mangle``).
``strict_requests`` / ``strict_responses`` decode every recorded frame with pysip2's decoder
(``pysip2.codec.decode_message``: fixed fields at their width and pattern, required fields
present, no duplicate fields, valid AY/AZ trailer) and fail naming each frame that is not a
valid SIP2 2.00 request (client → server) or response (server → client).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from pysip2 import SIP2Error, SIPMessage, SIPRequest, SIPResponse, decode_message
from pysip2.models import spec_for_type

__all__ = [
    "FrameTap",
    "Wire",
    "codes",
    "decode_requests",
    "decode_responses",
    "split_frames",
    "strict_requests",
    "strict_responses",
]


@dataclass
class Wire:
    """The bytes of one relayed connection, per direction."""

    to_server: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)


def split_frames(data: bytes) -> list[bytes]:
    """Whole frames (each with its CR) in ``data``; an unterminated tail is a frame too, so the
    decoder reports it."""
    frames = [part + b"\r" for part in data.split(b"\r")]
    tail = frames.pop()[:-1]
    if tail:
        frames.append(tail)
    return frames


class FrameTap:
    """A TCP relay to ``upstream`` that records every byte in both directions."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self.wires: list[Wire] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.mangle: dict[bool, Callable[[bytes], bytes | None]] = {}
        """One-shot byte changes per direction (True: to the server), applied to a chunk
        before it is recorded and passed on; a mangler returning None leaves that chunk alone
        and stays for the next."""

    async def __aenter__(self) -> FrameTap:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        wire = Wire()
        self.wires.append(wire)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(
                _pump(reader, up_writer, wire.to_server, self._mangler(True)),
                _pump(up_reader, writer, wire.to_client, self._mangler(False)),
            )
        except asyncio.CancelledError:
            pass  # the tap is closing; a server callback task must not end cancelled
        finally:
            for w in (writer, up_writer):
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()
            self._tasks.discard(task)

    def _mangler(self, to_server: bool) -> Callable[[bytes], bytes]:
        def apply(data: bytes) -> bytes:
            change = self.mangle.get(to_server)
            changed = change(data) if change is not None else None
            if changed is None:
                return data
            del self.mangle[to_server]
            return changed

        return apply

    def frames(self, *, to_server: bool) -> list[bytes]:
        """Every frame sent one way, connection by connection."""
        out: list[bytes] = []
        for wire in self.wires:
            out += split_frames(bytes(wire.to_server if to_server else wire.to_client))
        return out


async def _pump(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    log: bytearray,
    mangle: Callable[[bytes], bytes],
) -> None:
    try:
        while data := await reader.read(65536):
            data = mangle(data)
            log += data
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _strict(frames: list[bytes], kind: type[SIPMessage], encoding: str) -> list[SIPMessage]:
    decoded: list[SIPMessage] = []
    bad: list[str] = []
    for frame in frames:
        try:
            message = decode_message(frame, encoding=encoding).message
        except SIP2Error as exc:
            bad.append(f"{frame!r}: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(message, kind):
            bad.append(f"{frame!r}: a {type(message).__name__}, not a {kind.__name__}")
            continue
        decoded.append(message)
    assert not bad, "frames pysip2 refuses:\n" + "\n".join(bad)
    return decoded


def decode_requests(frames: list[bytes], encoding: str = "utf-8") -> list[SIPMessage]:
    """``frames`` decoded by pysip2 as requests (fails on any invalid one)."""
    return _strict(frames, SIPRequest, encoding)


def decode_responses(frames: list[bytes], encoding: str = "utf-8") -> list[SIPMessage]:
    """``frames`` decoded by pysip2 as responses (fails on any invalid one)."""
    return _strict(frames, SIPResponse, encoding)


def strict_requests(tap: FrameTap, encoding: str = "utf-8") -> list[SIPMessage]:
    """Every frame the client sent, decoded by pysip2 as a request (fails on any invalid one)."""
    return decode_requests(tap.frames(to_server=True), encoding)


def strict_responses(tap: FrameTap, encoding: str = "utf-8") -> list[SIPMessage]:
    """Every frame the server sent, decoded by pysip2 as a response (fails on any invalid one)."""
    return _strict(tap.frames(to_server=False), SIPResponse, encoding)


def codes(messages: list[SIPMessage]) -> list[str]:
    """Command codes of decoded messages, in order."""
    return [spec_for_type(type(m)).command_id for m in messages]
