"""A generic asyncio SIP2 server face: TCP (optionally TLS) in, one handler call per request.

``SIP2Server(handler, settings)`` accepts connections and gives each its own sans-I/O
``SIP2Connection`` (server role). The connection object does the protocol work; this module
only moves bytes and decides what to write for each event:

- a request → ``await handler(message, session)``, whose response is sent back;
- ``97`` or a repeated request (the last one again, AY and AZ included) → the cached last response,
  so a resent checkout or renewal is never acted on twice;
- a frame that fails to parse (bad checksum included) → ``96``;
- a patron or circulation message before a successful 93, when ``login_required`` → the
  connection is closed (what Koha's SIP server does), nothing reaches the handler;
- a peer that vanishes, mid-frame or not → the connection is dropped quietly.

Open connections are tracked; ``aclose()`` stops listening, lets a request being handled
finish and be answered, then closes every connection. The simulator and, later, the
gateway's kiosk face plug their handlers in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from ils_gateway.sip2.client import frames_logged, loggable
from ils_gateway.sip2.codec import DEFAULT_SETTINGS, CodecSettings
from ils_gateway.sip2.connection import (
    CLOSED,
    NEED_DATA,
    BadFrame,
    RepeatedRequest,
    Role,
    SIP2Connection,
)
from ils_gateway.sip2.errors import (
    RemoteProtocolError,
    RequestRejected,
    SIP2Error,
    error_site,
)
from ils_gateway.sip2.messages import Message, RequestACSResend, RequestSCResend

__all__ = ["Handler", "SIP2Server", "SIP2ServerSettings", "SIP2Session"]

log = structlog.get_logger("ils_gateway.sip2.server")

# One read from the socket; frames are bounded separately by CodecSettings.max_frame_bytes.
_READ_CHUNK = 64 * 1024


@dataclass
class SIP2Session:
    """What a handler knows about the connection a request arrived on."""

    connection_id: int
    peer: str
    login_user: str | None = None
    """Set by the handler when it accepts a 93 login."""
    data: dict[str, Any] = field(default_factory=dict)
    """Free per-connection state for the handler."""


Handler = Callable[[Message, SIP2Session], Awaitable[Message]]
"""Turns one request into its response message (never 96/97: the server face owns those)."""


@dataclass(frozen=True)
class SIP2ServerSettings:
    """How the server face listens and speaks."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port (tests); read the bound one from ``SIP2Server.port``."""
    codec: CodecSettings = DEFAULT_SETTINGS
    login_required: bool = False
    """Refuse everything but 93, 99 and 97 until a 93 was answered with ok=1."""
    ssl: ssl.SSLContext | None = None
    idle_timeout: float | None = None
    """Close connections silent for this many seconds (many real ACSs do)."""
    shutdown_grace: float = 5.0
    """Seconds ``aclose()`` lets requests being handled finish before cancelling them."""


@dataclass
class _Client:
    session: SIP2Session
    writer: asyncio.StreamWriter
    task: asyncio.Task[None]
    busy: bool = False


class SIP2Server:
    """An asyncio SIP2 server: accepts connections and answers requests through a handler."""

    def __init__(self, handler: Handler, settings: SIP2ServerSettings | None = None) -> None:
        self.handler = handler
        self.settings = settings or SIP2ServerSettings()
        self._server: asyncio.Server | None = None
        self._address: tuple[str, int] | None = None
        self._clients: dict[int, _Client] = {}
        self._ids = itertools.count(1)
        self._closing = False

    async def start(self) -> None:
        """Start listening."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = await asyncio.start_server(
            self._serve, self.settings.host, self.settings.port, ssl=self.settings.ssl
        )
        self._address = self._server.sockets[0].getsockname()[:2]

    @property
    def port(self) -> int:
        """The port actually bound."""
        if self._address is None:
            raise RuntimeError("server not started")
        return int(self._address[1])

    @property
    def host(self) -> str:
        """The address actually bound."""
        if self._address is None:
            raise RuntimeError("server not started")
        return str(self._address[0])

    @property
    def connection_count(self) -> int:
        """Connections open now."""
        return len(self._clients)

    async def __aenter__(self) -> SIP2Server:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop listening, let requests being handled be answered, close every connection."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for client in list(self._clients.values()):
            if not client.busy:
                client.writer.close()
        tasks = [c.task for c in self._clients.values()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = SIP2Session(next(self._ids), f"{peer[0]}:{peer[1]}" if peer else "?")
        task = asyncio.current_task()
        assert task is not None
        client = _Client(session, writer, task)
        self._clients[session.connection_id] = client
        bound = log.bind(connection=session.connection_id, peer=session.peer)
        bound.info("sip2.server.connected")
        if self._closing:
            writer.close()
        try:
            await self._conversation(reader, writer, client, bound)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            bound.info("sip2.server.peer_gone", error=type(exc).__name__)
        except RemoteProtocolError as exc:
            bound.warning("sip2.server.protocol_error", error=str(exc))
        except TimeoutError:
            bound.info("sip2.server.idle_timeout")
        except RequestRejected:
            pass  # logged once by whoever rejected it
        except Exception as exc:
            # No traceback: its message and any rendered locals may hold a password.
            bound.error(
                "sip2.server.handler_failed", error=type(exc).__name__, where=error_site(exc)
            )
        finally:
            del self._clients[session.connection_id]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            bound.info("sip2.server.disconnected")

    async def _conversation(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: _Client,
        bound: Any,
    ) -> None:
        settings = self.settings
        conn = SIP2Connection(Role.SERVER, settings.codec, login_required=settings.login_required)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                if self._closing:
                    return
                async with asyncio.timeout(settings.idle_timeout):
                    data = await reader.read(_READ_CHUNK)
                conn.receive_data(data)
                continue
            if event is CLOSED:
                return
            client.busy = True
            if isinstance(event, BadFrame):
                bound.warning("sip2.server.bad_frame", reason=event.error.reason)
                out = conn.send(RequestSCResend())
            elif isinstance(event, RepeatedRequest):
                bound.info("sip2.server.repeated_request", code=event.message.code)
                out = conn.resend()
            elif isinstance(event, RequestACSResend):
                try:
                    out = conn.resend()
                except SIP2Error:  # nothing answered yet on this connection
                    out = conn.send(RequestSCResend())
            else:
                assert isinstance(event, Message)
                if frames_logged(bound):
                    bound.debug("sip2.frame", direction="in", **loggable(event))
                if conn.login_needed_for(event):
                    bound.warning("sip2.server.login_required", code=event.code)
                    return
                response = await self.handler(event, client.session)
                out = conn.send(response)
                if frames_logged(bound):
                    bound.debug("sip2.frame", direction="out", **loggable(response))
            writer.write(out)
            await writer.drain()
            client.busy = False
