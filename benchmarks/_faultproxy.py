"""A fault-injecting TCP proxy for SIP2: stands between the gateway and a library system's ACS.

Shared by ``benchmarks/faults.py`` and ``tests/api/test_faults_short.py`` (which puts this
directory on ``sys.path``). SIP2 is lockstep — one request frame, one answer frame, per
connection — so the proxy reads a request frame from the gateway, forwards it, reads the ACS's
answer and relays it, one pair at a time. Each request frame is offered to the armed faults
(``arm``); the first whose ``match`` accepts it fires once and is used up:

- ``drop_before``: both connections close; the request never reaches the ACS.
- ``drop_after``: the request is forwarded and the gateway's connection closes at once; the
  proxy still waits for the ACS's answer (so the ACS has carried the request out) and drops it.
- ``drop_mid``: the request is forwarded; the first half of the answer reaches the gateway,
  then its connection closes.
- ``silent``: the request is forwarded (the ACS carries it out) and then this connection goes
  silent for ``silence`` seconds: the answer is held that long and relayed afterwards if the
  gateway is still listening. A frame the gateway sends meanwhile waits behind it, as it would
  at a hung ACS; one on a connection the gateway closes is never forwarded.
- ``delay``: the answer is relayed ``delay`` seconds late.

The control channel is in-process: ``arm(kind, match)`` before the operation, ``disarm`` after
it (an operation the gateway refused without writing leaves its fault unfired); ``Armed.fired``
says whether it struck. ``idle()`` waits until no connection holds a frame back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Fault(StrEnum):
    """What the proxy does to one request frame."""

    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    DROP_MID = "drop_mid"
    SILENT = "silent"
    DELAY = "delay"


@dataclass
class Armed:
    """A fault waiting for the first request frame ``match`` accepts."""

    kind: Fault
    match: Callable[[bytes], bool]
    fired: bool = False


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    holding: bool = False


@dataclass
class FaultProxy:
    """Relays SIP2 frames from ``listen`` to ``upstream_host:upstream_port``, with faults."""

    upstream_host: str
    upstream_port: int
    silence: float = 4.0
    delay: float = 1.0
    terminator: bytes = b"\r"
    fired: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    port: int = 0
    _armed: list[Armed] = field(default_factory=list)
    _links: set[_Link] = field(default_factory=set)
    _server: asyncio.Server | None = None
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: a free port); returns the port."""
        self._idle.set()
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            _abort(link.client)
            if link.upstream is not None:
                _abort(link.upstream)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def arm(self, kind: Fault, match: Callable[[bytes], bool]) -> Armed:
        """Fire ``kind`` on the next request frame that ``match`` accepts (once)."""
        armed = Armed(Fault(kind), match)
        self._armed.append(armed)
        return armed

    def disarm(self, armed: Armed) -> None:
        """Forget ``armed`` if it has not fired."""
        with contextlib.suppress(ValueError):
            self._armed.remove(armed)

    async def idle(self, within: float) -> bool:
        """Wait (at most ``within`` s) until no connection holds an answer back."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    def _take(self, frame: bytes) -> Armed | None:
        for armed in self._armed:
            if armed.match(frame):
                self._armed.remove(armed)
                armed.fired = True
                self.fired[armed.kind] += 1
                return armed
        return None

    def _set_holding(self, link: _Link, holding: bool) -> None:
        link.holding = holding
        if any(other.holding for other in self._links):
            self._idle.clear()
        else:
            self._idle.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(writer)
        self._links.add(link)
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            self._links.discard(link)
            _abort(writer)
            return
        link.upstream = up_writer
        try:
            await self._relay(link, reader, up_reader, up_writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._set_holding(link, False)
            self._links.discard(link)
            _abort(writer)
            _abort(up_writer)

    async def _relay(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        client = link.client
        while True:
            frame = await reader.readuntil(self.terminator)
            self.frames += 1
            armed = self._take(frame)
            kind = armed.kind if armed else None
            if kind is Fault.DROP_BEFORE:
                return
            up_writer.write(frame)
            await up_writer.drain()
            if kind is Fault.DROP_AFTER:
                _abort(client)  # the gateway's connection goes now, the ACS still acts
                await up_reader.readuntil(self.terminator)
                return
            answer = await up_reader.readuntil(self.terminator)
            if kind is Fault.DROP_MID:
                client.write(answer[: max(1, len(answer) // 2)])
                await client.drain()
                return
            if kind in (Fault.SILENT, Fault.DELAY):
                self._set_holding(link, True)
                await asyncio.sleep(self.silence if kind is Fault.SILENT else self.delay)
                self._set_holding(link, False)
                if _peer_closed(reader):
                    return  # the gateway gave up: what it sent meanwhile is never forwarded
            client.write(answer)
            await client.drain()


def _peer_closed(reader: asyncio.StreamReader) -> bool:
    # ``at_eof()`` stays False while unread bytes remain; the EOF flag itself is what counts.
    return bool(getattr(reader, "_eof", False))


def _abort(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


def sip2_request(code: str, *, card: str, item: str | None = None) -> Callable[[bytes], bool]:
    """A ``match`` for SIP2 request frames starting with ``code`` (e.g. ``"29"``, ``"15+"``)
    for patron ``card`` (AA) and, when given, item ``item`` (AB)."""
    prefix = code.encode()
    patron = b"|AA" + card.encode() + b"|"
    copy = b"|AB" + item.encode() + b"|" if item is not None else None

    def match(frame: bytes) -> bool:
        return frame.startswith(prefix) and patron in frame and (copy is None or copy in frame)

    return match


@dataclass
class HttpFaultProxy:
    """The same faults for a REST library system (Koha): an HTTP proxy to ``upstream``.

    A request is offered to the armed faults as ``b"METHOD /path?query\\n" + body``. The
    faults act on the HTTP exchange: ``drop_before`` closes the gateway's connection without
    forwarding; ``drop_after`` forwards, waits for the ILS's answer and closes the gateway's
    connection instead of answering; ``drop_mid`` sends the status line, headers and half the
    body, then closes; ``silent`` holds the answer ``silence`` s; ``delay`` ``delay`` s.
    """

    upstream: str
    silence: float = 4.0
    delay: float = 1.0
    fired: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    port: int = 0
    url: str = ""
    _armed: list[Armed] = field(default_factory=list)
    _holding: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: Any = None
    _session: Any = None

    arm = FaultProxy.arm
    disarm = FaultProxy.disarm
    idle = FaultProxy.idle
    _take = FaultProxy._take

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: a free port); returns the port."""
        from aiohttp import ClientSession, web

        self._idle.set()
        self._session = ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{self.port}"
        return self.port

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        body = await request.read()
        self.frames += 1
        armed = self._take(f"{request.method} {request.path_qs}\n".encode() + body)
        kind = armed.kind if armed else None
        if kind is Fault.DROP_BEFORE:
            return _drop_http(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            payload = await upstream.read()
            status = upstream.status
            answer_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_ANSWER
            }
        if kind is Fault.DROP_AFTER:
            return _drop_http(request)
        if kind is Fault.DROP_MID:
            response = web.StreamResponse(status=status, headers=answer_headers)
            response.content_length = len(payload)
            await response.prepare(request)
            await response.write(payload[: max(1, len(payload) // 2)])
            return _drop_http(request)
        if kind in (Fault.SILENT, Fault.DELAY):
            self._holding += 1
            self._idle.clear()
            try:
                await asyncio.sleep(self.silence if kind is Fault.SILENT else self.delay)
            finally:
                self._holding -= 1
                if not self._holding:
                    self._idle.set()
        return web.Response(status=status, body=payload, headers=answer_headers)


_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}
_HOP_ANSWER = _HOP | {"content-encoding"}


def _drop_http(request: Any) -> Any:
    from aiohttp import web

    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)  # never reaches the gateway: its connection is gone


def http_request(method: str, path_pattern: str, **body: object) -> Callable[[bytes], bool]:
    """A ``match`` for HTTP requests: ``method``, a path matching ``path_pattern`` (regex,
    whole path) and, when given, JSON body fields equal to ``body``."""
    import json
    import re

    pattern = re.compile(path_pattern)

    def match(seen: bytes) -> bool:
        line, _, raw = seen.partition(b"\n")
        seen_method, _, path = line.decode().partition(" ")
        if seen_method != method or not pattern.fullmatch(path.split("?")[0]):
            return False
        if not body:
            return True
        try:
            fields = json.loads(raw)
        except ValueError:
            return False
        return isinstance(fields, dict) and all(fields.get(k) == v for k, v in body.items())

    return match
