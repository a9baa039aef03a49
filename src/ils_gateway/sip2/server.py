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
- a peer that vanishes, mid-frame or not → the connection is dropped quietly;
- a listener behind a load balancer (``proxy_protocol``) reads the PROXY header first, only
  from ``trusted_proxies`` (anyone else, or a bad header: closed), and the session's peer is
  the machine's address it names;
- ``framing`` (a face's hook) picks the codec and timeouts per session, asked again before
  each frame, so a face can change them per machine (at login) or for every machine at once
  (a reload); ``login_timeout`` closes a connection that has not logged in by then;
- ``on_error`` (a face's hook) hears each fault by kind (bad_frame, login_required, ...),
  for metrics.

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
from typing import Any, Literal

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
from ils_gateway.sip2.fields import MAX_FIELD_CHARS
from ils_gateway.sip2.messages import Message, RequestACSResend, RequestSCResend
from ils_gateway.sip2.networks import Network, covers
from ils_gateway.sip2.proxy_protocol import ProxyHeaderError, read_proxy_header

__all__ = ["Handler", "SIP2Server", "SIP2ServerSettings", "SIP2Session", "SessionFraming"]

log = structlog.get_logger("ils_gateway.sip2.server")

# One read from the socket; frames are bounded separately by CodecSettings.max_frame_bytes.
_READ_CHUNK = 64 * 1024


class _FrameTooSlow(Exception):
    """A frame begun was not completed within ``frame_deadline``."""


class _LoginTooSlow(Exception):
    """The connection did not log in within its ``login_timeout``."""


@dataclass(frozen=True)
class SessionFraming:
    """How one session is framed now: codec and timeouts (a face's ``framing`` hook)."""

    codec: CodecSettings
    idle_timeout: float | None
    """Seconds of silence between frames before the connection is closed; None: never."""
    login_timeout: float | None = None
    """Seconds from connecting to a successful 93; None: no limit."""


def _overlong_field(message: Message, limit: int) -> str | None:
    """The id of the first variable field of ``message`` longer than ``limit``, or None."""
    for field_id, value in message.fields:
        if len(value) > limit:
            return field_id
    return None


@dataclass
class SIP2Session:
    """What a handler knows about the connection a request arrived on."""

    connection_id: int
    peer: str
    login_user: str | None = None
    """Set by the handler when it accepts a 93 login."""
    data: dict[str, Any] = field(default_factory=dict)
    """Free per-connection state for the handler."""
    local_port: int | None = None
    """The listening port the connection came in on."""
    proxied_by: str | None = None
    """The load balancer's address when a PROXY header named ``peer``."""

    @property
    def address(self) -> str:
        """The peer's address without its port: what per-address counts key on (a guesser
        gets a new port with every connection)."""
        host, sep, _port = self.peer.rpartition(":")
        return host if sep else self.peer


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
    idle_timeout: float | None = 1800.0
    """Close connections silent this many seconds between frames (many real ACSs do). A
    self-check machine sends 99 every few minutes or reconnects when it finds its connection
    closed; half an hour keeps a machine that sits unused over lunch connected while 1,000
    idle connections opened by anyone else do not stay for a day. None: never."""
    frame_deadline: float | None = 30.0
    """Seconds from a frame's first byte to its terminator (slowloris). A machine writes a
    frame at once; 30 s is room for retransmissions on a bad link. None: no deadline."""
    max_connections: int | None = 200
    """Open connections at most; one more is closed at once, unanswered. A branch runs a few
    to a few dozen machines with one or two connections each. None: no limit."""
    max_connections_per_address: int | None = 16
    """Open connections from one client address at most (several machines behind one NAT
    address, each with its pool and a reconnect in progress). None: no limit."""
    max_field_chars: int = MAX_FIELD_CHARS
    """The longest variable field a request may carry (SIP2 2.00: 255 characters). A longer one
    closes the connection before any handler sees it."""
    shutdown_grace: float = 5.0
    """Seconds ``aclose()`` lets requests being handled finish before cancelling them."""
    reuse_port: bool = False
    """Listen with SO_REUSEPORT, beside the same face in other processes (``serve --workers``)."""
    log_frames: bool = False
    """Log every frame at info, redacted by ``sip2.redaction`` (the tenant's
    ``[tenants.kiosk_sip2] log_frames``); otherwise frames are logged at debug only."""
    proxy_protocol: Literal["off", "v1", "v2", "any"] = "off"
    """``v1``, ``v2`` or ``any``: a PROXY header comes first, from ``trusted_proxies`` only."""
    trusted_proxies: tuple[Network, ...] = ()
    proxy_header_timeout: float = 5.0
    """Seconds for the load balancer to send its header (it sends it at once)."""
    framing: Callable[[SIP2Session], SessionFraming] | None = None
    """The session's codec and timeouts, asked before each frame; None: ``codec`` and
    ``idle_timeout`` for every session."""
    on_error: Callable[[SIP2Session | None, str], None] | None = None
    """Told each fault by kind (for metrics): bad_frame, login_required, field_too_long,
    frame_deadline, idle_timeout, login_timeout, proxy_refused, protocol_error,
    handler_failed, connection_refused."""


@dataclass
class _Client:
    session: SIP2Session
    writer: asyncio.StreamWriter
    task: asyncio.Task[None]
    address: str
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
            self._serve,
            self.settings.host,
            self.settings.port,
            ssl=self.settings.ssl,
            reuse_port=self.settings.reuse_port or None,
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

    def _framing(self, session: SIP2Session) -> SessionFraming:
        settings = self.settings
        if settings.framing is not None:
            return settings.framing(session)
        return SessionFraming(settings.codec, settings.idle_timeout)

    def _over_limit(self, address: str) -> str | None:
        """Why one more connection from ``address`` is refused, or None."""
        limit = self.settings.max_connections
        if limit is not None and len(self._clients) >= limit:
            return "max_connections"
        limit = self.settings.max_connections_per_address
        if limit is not None:
            same = sum(1 for c in self._clients.values() if c.address == address)
            if same >= limit:
                return "max_connections_per_address"
        return None

    def _fault(self, session: SIP2Session | None, kind: str) -> None:
        if self.settings.on_error is not None:
            self.settings.on_error(session, kind)

    async def _proxied_peer(
        self, reader: asyncio.StreamReader, peer: tuple[str, int]
    ) -> tuple[str, int] | None:
        """The machine's address from the PROXY header (the balancer's own when the header
        names none), or None when the header is refused."""
        settings = self.settings
        accept = settings.proxy_protocol
        if accept == "off":
            return peer
        if not covers(settings.trusted_proxies, str(peer[0])):
            log.warning("sip2.server.proxy_untrusted", peer=str(peer[0]))
            return None
        try:
            async with asyncio.timeout(settings.proxy_header_timeout):
                header = await read_proxy_header(reader, accept)
        except (ProxyHeaderError, TimeoutError, ConnectionError) as exc:
            log.warning("sip2.server.proxy_header_refused", peer=str(peer[0]), error=str(exc))
            return None
        return header.source or peer

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        sockname = writer.get_extra_info("sockname")
        balancer: str | None = None
        if self.settings.proxy_protocol != "off" and peer:
            proxied = await self._proxied_peer(reader, (str(peer[0]), int(peer[1])))
            if proxied is None:
                self._fault(None, "proxy_refused")
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
                return
            balancer, peer = str(peer[0]), proxied
        address = str(peer[0]) if peer else "?"
        refused = self._over_limit(address)
        if refused is not None:
            log.warning("sip2.server.connection_refused", peer=address, limit=refused)
            self._fault(None, "connection_refused")
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        session = SIP2Session(
            next(self._ids),
            f"{peer[0]}:{peer[1]}" if peer else "?",
            local_port=int(sockname[1]) if sockname else None,
            proxied_by=balancer,
        )
        task = asyncio.current_task()
        assert task is not None
        client = _Client(session, writer, task, address)
        self._clients[session.connection_id] = client
        bound = log.bind(connection=session.connection_id, peer=session.peer)
        bound.info("sip2.server.connected", proxied_by=balancer)
        if self._closing:
            writer.close()
        try:
            await self._conversation(reader, writer, client, bound)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            bound.info("sip2.server.peer_gone", error=type(exc).__name__)
        except RemoteProtocolError as exc:
            bound.warning("sip2.server.protocol_error", error=str(exc))
            self._fault(session, "protocol_error")
        except _FrameTooSlow:
            bound.info("sip2.server.frame_deadline")
            self._fault(session, "frame_deadline")
        except _LoginTooSlow:
            bound.info("sip2.server.login_timeout")
            self._fault(session, "login_timeout")
        except TimeoutError:
            bound.info("sip2.server.idle_timeout")
            self._fault(session, "idle_timeout")
        except RequestRejected:
            pass  # logged once by whoever rejected it
        except Exception as exc:
            # No traceback: its message and any rendered locals may hold a password.
            bound.error(
                "sip2.server.handler_failed", error=type(exc).__name__, where=error_site(exc)
            )
            self._fault(session, "handler_failed")
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
        session = client.session
        framing = self._framing(session)
        conn = SIP2Connection(Role.SERVER, framing.codec, login_required=settings.login_required)
        loop = asyncio.get_running_loop()
        login_due = (
            loop.time() + framing.login_timeout if framing.login_timeout is not None else None
        )
        frame_due: float | None = None  # when the frame begun must be complete
        while True:
            if settings.framing is not None:
                framing = self._framing(session)  # per frame: a login or reload may change it
                if framing.codec is not conn.settings:
                    conn.reframe(framing.codec)
            event = conn.next_event()
            if event is NEED_DATA:
                if self._closing:
                    return
                if not conn.trailing_data:
                    frame_due = None
                elif frame_due is None and settings.frame_deadline is not None:
                    frame_due = loop.time() + settings.frame_deadline
                if conn.authenticated or not settings.login_required:
                    login_due = None
                if frame_due is not None:
                    try:
                        async with asyncio.timeout_at(frame_due):
                            data = await reader.read(_READ_CHUNK)
                    except TimeoutError:
                        raise _FrameTooSlow from None
                else:
                    idle = framing.idle_timeout
                    due = None if idle is None else loop.time() + idle
                    if login_due is not None and (due is None or login_due < due):
                        try:
                            async with asyncio.timeout_at(login_due):
                                data = await reader.read(_READ_CHUNK)
                        except TimeoutError:
                            raise _LoginTooSlow from None
                    else:
                        async with asyncio.timeout_at(due):
                            data = await reader.read(_READ_CHUNK)
                conn.receive_data(data)
                continue
            frame_due = None
            if event is CLOSED:
                return
            client.busy = True
            if isinstance(event, BadFrame):
                bound.warning("sip2.server.bad_frame", reason=event.error.reason)
                self._fault(session, "bad_frame")
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
                if settings.log_frames:
                    bound.info("sip2.frame", direction="in", **loggable(event))
                elif frames_logged(bound):
                    bound.debug("sip2.frame", direction="in", **loggable(event))
                if conn.login_needed_for(event):
                    bound.warning("sip2.server.login_required", code=event.code)
                    self._fault(session, "login_required")
                    return
                overlong = _overlong_field(event, settings.max_field_chars)
                if overlong is not None:
                    bound.warning(
                        "sip2.server.field_too_long",
                        code=event.code,
                        field=overlong,
                        limit=settings.max_field_chars,
                    )
                    self._fault(session, "field_too_long")
                    return
                response = await self.handler(event, client.session)
                if settings.framing is not None:  # a 93 may have chosen another framing
                    framing = self._framing(session)
                    if framing.codec is not conn.settings:
                        conn.reframe(framing.codec)
                out = conn.send(response)
                if settings.log_frames:
                    bound.info("sip2.frame", direction="out", **loggable(response))
                elif frames_logged(bound):
                    bound.debug("sip2.frame", direction="out", **loggable(response))
            writer.write(out)
            await writer.drain()
            client.busy = False
