"""The asyncio SIP2 client: a pool of logged-in connections to one ACS.

``SIP2ClientPool(settings)`` keeps up to ``pool_size`` connections. Each new connection is
opened (TLS when configured), logged in with 93 when a login user is set, and checked with
99; the last 98 is kept as ``pool.acs_status`` (supported messages, timeout, retries). A
connection carries one request at a time, strictly request → response; concurrency is the
number of connections.

Idle connections: many ACSs drop a connection that stays silent, some without a word (or a
firewall between forgets it). A pooled connection idle for half the ACS's 98 timeout (or
``idle_probe_after``) is checked with a 99 before it carries a request, so a write is never
the first frame on a dead connection (it would be reported outcome-unknown for nothing); one
that fails the check is closed and the request goes on a fresh connection. ``keep_alive()``
runs the same check over every idle connection now, for a periodic task. Time is read from
the pool's ``clock`` (monotonic seconds), which tests replace.

Resend rules (spec, error detection on): a response we cannot read (bad checksum) is asked
for again with 97; a 96 from the ACS makes us resend the same bytes (same AY and AZ, which a
careful ACS recognises as a resend). Both are bounded by the ACS's retries value.

What the caller learns when things go wrong, by whether the request may have reached the ACS:

- nothing was written yet (connect failed, login refused): ``SIP2ConnectionError`` /
  ``SIP2LoginFailed`` — safe to try again later;
- the request was written and the connection broke, timed out or the answer was garbled:
  reads (``idempotent=True``) are tried once more on a fresh connection, then fail with
  ``SIP2ConnectionError``, ``SIP2Timeout`` or ``SIP2ProtocolError``; writes are *never*
  resent and fail with ``SIP2OutcomeUnknown`` (the cause chained), because a checkout,
  renewal or hold may have happened.

Every response is checked against its request before anyone sees it: the sequence number (AY,
in the sans-I/O connection) and the identity fields ``IDENTITY_FIELDS`` lists per response
code — the patron (AA) and item (AB) asked about. A response naming another patron or item is
``SIP2IdentityMismatch`` (a protocol error, never retried: an ACS that answers about someone
else once may do it again); a field the ACS leaves out or sends empty is not a mismatch.

A connection that failed in any way is closed, never reused: its next bytes could belong to
the request that failed (cross-talk). Inside an API request every wait (connect, login, a slot
in the pool, one exchange) is bounded by the request's deadline (``ils_gateway.deadline``) and
a read is tried again only while time is left. Frames are logged at debug level through
structlog with passwords removed and card numbers and personal fields masked (``loggable``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import structlog

from ils_gateway.deadline import bounded, time_left
from ils_gateway.domain.clock import MonotonicSeconds
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.observability import metrics, tracing
from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.codec import DEFAULT_MAX_FRAME_BYTES, CodecSettings
from ils_gateway.sip2.connection import CLOSED, NEED_DATA, BadFrame, Role, SIP2Connection
from ils_gateway.sip2.errors import RemoteProtocolError, SIP2Error
from ils_gateway.sip2.fields import SUPPORTED_MESSAGE_ORDER, SupportedMessages
from ils_gateway.sip2.messages import (
    ACSStatus,
    LoginRequest,
    LoginResponse,
    Message,
    RequestACSResend,
    RequestSCResend,
    SCStatus,
)
from ils_gateway.sip2.redaction import loggable, redact

__all__ = [
    "IDENTITY_FIELDS",
    "SUPPORTED_MESSAGE_ORDER",
    "ClientTimeouts",
    "SIP2ClientError",
    "SIP2ClientPool",
    "SIP2ClientSettings",
    "SIP2ConnectionError",
    "SIP2IdentityMismatch",
    "SIP2LoginFailed",
    "SIP2OutcomeUnknown",
    "SIP2PoolClosed",
    "SIP2ProtocolError",
    "SIP2Timeout",
    "TLSSettings",
    "frames_logged",
    "loggable",
]

log = structlog.get_logger("ils_gateway.sip2.client")

_READ_CHUNK = 64 * 1024


# --- errors --------------------------------------------------------------------------------


class SIP2ClientError(SIP2Error):
    """Base of what the client pool raises; the SIP2 adapter translates these in one place."""


class SIP2ConnectionError(SIP2ClientError):
    """The ACS could not be reached, or the connection broke (for a read: after one retry)."""


class SIP2LoginFailed(SIP2ConnectionError):
    """The ACS answered our 93 login with ok=0 (wrong login user or password)."""


class SIP2Timeout(SIP2ClientError):
    """A read got no complete response in time (after one retry)."""


class SIP2ProtocolError(SIP2ClientError, RemoteProtocolError):
    """The ACS broke the protocol: unreadable after resends, wrong response, bad sequence."""


class SIP2IdentityMismatch(SIP2ProtocolError):
    """The response names another patron (AA) or item (AB) than the request asked about.

    The message names the field and the response code only: the ids are personal (a card
    number) and are logged masked, once, by the pool.
    """

    def __init__(self, code: str, field: str) -> None:
        self.code = code
        self.field = field
        super().__init__(f"{code} answers about another {_IDENTITY_NAMES[field]} ({field})")


class SIP2OutcomeUnknown(SIP2ClientError):
    """A write was sent and no answer came: it may or may not have happened at the ACS."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"outcome of {code} unknown: {reason}")


class SIP2PoolClosed(SIP2ClientError):
    """The pool was used before ``start()`` or after ``aclose()``."""


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSSettings:
    """TLS for the connection to the ACS (SIP2 passwords travel in clear text without it)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    verify: bool = True
    server_hostname: str | None = None

    def context(self) -> ssl.SSLContext:
        """The client SSL context these settings describe."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file is not None:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


@dataclass(frozen=True)
class ClientTimeouts:
    """Seconds allowed per phase: connecting (with login), one request, waiting for a slot."""

    connect: float = 5.0
    request: float = 10.0
    pool: float = 5.0


@dataclass(frozen=True)
class SIP2ClientSettings:
    """Everything about one ACS connection; passwords are kept out of the repr."""

    host: str
    port: int
    tls: TLSSettings | None = None
    login_user: str | None = None
    """93 CN; no login is sent when None."""
    login_password: str = field(default="", repr=False)
    """93 CO."""
    location_code: str | None = None
    """93 CP."""
    institution_id: str = ""
    """AO, for the messages the adapter builds."""
    terminal_password: str = field(default="", repr=False)
    """AC, for the messages the adapter builds."""
    language: str = "014"
    encoding: str = "utf-8"
    error_detection: bool = True
    checksum_basis: ChecksumBasis = ChecksumBasis.BYTES
    terminator: str = "\r"
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    timeouts: ClientTimeouts = ClientTimeouts()
    pool_size: int = 4
    max_resends: int = 3
    """Upper bound of 96/97 rounds per request (lowered by the ACS's retries value)."""
    idle_probe_after: float | None = None
    """Seconds idle after which a connection is checked with 99 before use; None: half the
    ACS's 98 timeout (no check when the ACS gives none)."""
    free_text_fields: frozenset[str] = frozenset()
    """List fields (AS, CD, …) that hold titles on this ACS: an undecodable byte there is read
    as U+FFFD, as in titles (``CodecSettings.free_text_fields``); empty: strict ids."""
    log_frames: bool = False
    """Log every frame at info (the tenant's ``log_frames``), redacted by ``sip2.redaction``:
    passwords never, card numbers masked, items, titles and personal fields as lengths.
    Otherwise frames are logged at debug only."""

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise ValueError("pool_size must be at least 1")

    @property
    def codec(self) -> CodecSettings:
        """The codec settings of these connections."""
        return CodecSettings(
            encoding=self.encoding,
            error_detection=self.error_detection,
            checksum_basis=self.checksum_basis,
            terminator=self.terminator,
            max_frame_bytes=self.max_frame_bytes,
            free_text_fields=self.free_text_fields,
        )


# --- log redaction: the table and ``loggable`` live in ``sip2.redaction`` ----------------


def frames_logged(logger: Any) -> bool:
    """True unless ``logger`` says it drops debug lines (frames are logged at debug, and
    ``loggable`` is worth skipping on every request when nobody reads them)."""
    enabled = getattr(logger, "is_enabled_for", None)
    return enabled is None or bool(enabled(logging.DEBUG))


# --- does the response answer the request? ------------------------------------------------

IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "24": ("AA",),  # patron status (answers 23 and 01)
    "64": ("AA",),  # patron information
    "26": ("AA",),  # patron enable
    "36": ("AA",),  # end session
    "38": ("AA",),  # fee paid
    "66": ("AA",),  # renew all: AA is not in the spec's 66, but ACSs that add it must match
    "12": ("AA", "AB"),  # checkout
    "30": ("AA", "AB"),  # renew
    "16": ("AA", "AB"),  # hold
    "10": ("AA", "AB"),  # checkin (09 names no patron: only AB is compared)
    "18": ("AB",),  # item information
    "20": ("AB",),  # item status update
}
"""Response code → the fields that must name what the request named (AA patron, AB item)."""

_IDENTITY_NAMES = {"AA": "patron", "AB": "item"}


def _same_id(asked: str, answered: str) -> bool:
    # ACSs echo the stored form of an id: Koha's database compares barcodes and card numbers
    # without case (MySQL's default collation) and some ACSs pad fields with spaces.
    return asked.strip().casefold() == answered.strip().casefold()


def identity_mismatch(request: Message, response: Message) -> str | None:
    """The first identity field whose value in ``response`` names another patron or item
    than ``request`` asked about; None when they match. A field either side leaves out (or
    sends empty) is not compared."""
    for fid in IDENTITY_FIELDS.get(response.code, ()):
        asked = request.get(fid)
        if not asked:
            continue
        answered = response.get(fid)
        if answered and not _same_id(asked, answered):
            return fid
    return None


# --- one connection ------------------------------------------------------------------------


class _Broken(Exception):
    """The connection failed; ``sent`` says whether the request may have reached the ACS."""

    def __init__(self, error: BaseException, *, sent: bool) -> None:
        self.error = error
        self.sent = sent
        super().__init__(str(error))


class _Connection:
    """One open TCP connection and its protocol state; carries one request at a time."""

    def __init__(
        self,
        number: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: SIP2ClientSettings,
    ) -> None:
        self.number = number
        self.reader = reader
        self.writer = writer
        self.settings = settings
        self.protocol = SIP2Connection(Role.CLIENT, settings.codec)
        self.max_resends = settings.max_resends
        self.log = log.bind(connection=number, acs=f"{settings.host}:{settings.port}")
        self.last_used = 0.0
        """Pool clock reading when the connection last finished an exchange."""

    @property
    def usable(self) -> bool:
        """False once the ACS closed it (seen between requests) or it was closed here."""
        return not (self.writer.is_closing() or self.reader.at_eof())

    async def exchange(self, message: Message, seconds: float) -> Message:
        """Send ``message``, return its response; ``_Broken`` on any failure."""
        try:
            data = self.protocol.send(message)
        except SIP2Error as exc:  # our own illegal step: nothing was written
            raise _Broken(exc, sent=False) from exc
        if self.settings.log_frames:
            self.log.info("sip2.frame", direction="out", **loggable(message))
        elif frames_logged(self.log):
            self.log.debug("sip2.frame", direction="out", **loggable(message))
        try:
            async with asyncio.timeout(seconds):
                self.writer.write(data)
                await self.writer.drain()
                return await self._response(message)
        except (OSError, EOFError, SIP2Error, TimeoutError) as exc:
            raise _Broken(exc, sent=True) from exc

    async def _response(self, request: Message) -> Message:
        rounds = 0
        while True:
            event = self.protocol.next_event()
            if event is NEED_DATA:
                chunk = await self.reader.read(_READ_CHUNK)
                if not chunk:
                    raise ConnectionResetError("the ACS closed the connection")
                self.protocol.receive_data(chunk)
                continue
            if event is CLOSED:
                raise ConnectionResetError("the ACS closed the connection")
            if isinstance(event, BadFrame | RequestSCResend):
                rounds += 1
                if rounds > self.max_resends:
                    raise SIP2ProtocolError(
                        f"no readable answer to {request.code} after {self.max_resends} resends"
                    )
                if isinstance(event, BadFrame):
                    self.log.warning("sip2.client.bad_frame", reason=event.error.reason)
                    out = self.protocol.send(RequestACSResend())
                else:
                    self.log.info("sip2.client.resend_requested", code=request.code)
                    out = self.protocol.resend()
                self.writer.write(out)
                await self.writer.drain()
                continue
            assert isinstance(event, Message)
            if self.settings.log_frames:
                self.log.info("sip2.frame", direction="in", **loggable(event))
            elif frames_logged(self.log):
                self.log.debug("sip2.frame", direction="in", **loggable(event))
            return event

    async def close(self) -> None:
        """Close the socket (no SIP2 goodbye exists)."""
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


# --- the pool ------------------------------------------------------------------------------


READ_RETRY = RetryPolicy(attempts=2, first_wait=0.0, max_wait=0.0)
"""A read is tried once more, at once, on a fresh connection (the ACS dropped the first)."""


class PoolState(Enum):
    """Lifecycle of a pool."""

    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class SIP2ClientPool:
    """Up to ``pool_size`` logged-in connections to one ACS, one request in flight on each."""

    def __init__(
        self,
        settings: SIP2ClientSettings,
        *,
        clock: MonotonicSeconds = time.monotonic,
        retry: RetryPolicy = READ_RETRY,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._retry = retry
        self.state = PoolState.UNOPENED
        self.acs_status: ACSStatus | None = None
        """The last 98 ACS Status (supported messages, timeout, retries)."""
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._busy = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._numbers = 0
        self._ssl = settings.tls.context() if settings.tls is not None else None
        self._acs = f"{settings.host}:{settings.port}"  # the metrics' label (configured)

    async def __aenter__(self) -> SIP2ClientPool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Open the first connection (login and status check); fails fast on a bad login."""
        if self.state is not PoolState.UNOPENED:
            raise SIP2PoolClosed(f"pool is {self.state.value}")
        self.state = PoolState.OPEN
        try:
            self._idle.append(await self._open())
        except BaseException:
            self.state = PoolState.CLOSED
            raise

    @property
    def supported_messages(self) -> SupportedMessages | None:
        """The BX flags of the last 98, decoded (None before the first connection)."""
        if self.acs_status is None:
            return None
        return SupportedMessages.from_bx(self.acs_status.supported_messages)

    def supports(self, code: str) -> bool | None:
        """Whether the ACS's 98 flags request ``code`` as supported (None when unknown)."""
        supported = self.supported_messages
        if supported is None or code not in SUPPORTED_MESSAGE_ORDER:
            return None
        return supported.supports(code)

    @property
    def idle_limit(self) -> float | None:
        """Seconds a connection may sit idle before it is checked with 99 (None: never)."""
        if self.settings.idle_probe_after is not None:
            return self.settings.idle_probe_after
        timeout = self.acs_status.timeout_period if self.acs_status is not None else None
        if not timeout or timeout == 999:  # 000 / 999: the ACS states no timeout
            return None
        # 98 gives tenths of a second. Half of it: the ACS counts from its own last read, and
        # the check must come before the ACS gives up, not after.
        return timeout / 10 / 2

    async def keep_alive(self) -> int:
        """Check every connection idle past ``idle_limit`` with a 99 now; returns how many
        failed the check (they are closed)."""
        dropped = 0
        for conn in list(self._idle):
            if self.state is not PoolState.OPEN or self._slots.locked():
                break
            if conn not in self._idle or not self._idle_too_long(conn):
                continue
            self._idle.remove(conn)
            await self._slots.acquire()  # free (not locked): returns at once
            self._busy += 1
            self._drained.clear()
            if await self._probe(conn):
                await self._release(conn)
            else:
                dropped += 1
                self._done()
        return dropped

    @property
    def open_connections(self) -> int:
        """Connections open now (idle and busy)."""
        return len(self._idle) + self._busy

    async def request(self, message: Message, *, idempotent: bool) -> Message:
        """Send one request on a pooled connection and return the ACS's response.

        ``idempotent=True`` (reads) allows more tries (``READ_RETRY``: one more) on a fresh
        connection after a reset, timeout or garbled answer; writes that may have been sent
        raise ``SIP2OutcomeUnknown``. Traced as ``sip2 <code>`` when tracing is on.
        """
        if tracing.tracer is None:
            return await self._request(message, idempotent)
        with tracing.span(f"sip2 {message.code}", {"sip2.message": message.code}) as span:
            response = await self._request(message, idempotent)
            span.set_attribute("sip2.response", response.code)
            return response

    async def _request(self, message: Message, idempotent: bool) -> Message:
        tries = self._retry.attempts if idempotent else 1
        attempt = 0
        while True:
            conn = await self._acquire()
            try:
                response = await conn.exchange(message, bounded(self.settings.timeouts.request))
            except _Broken as broken:
                await self._discard(conn)
                if not broken.sent and isinstance(broken.error, SIP2Error):
                    raise broken.error from None  # our bug (illegal step), not the ACS's
                attempt += 1
                conn.log.warning(
                    "sip2.client.request_failed",
                    code=message.code,
                    error=type(broken.error).__name__,
                    detail=str(broken.error),
                    attempt=attempt,
                )
                if not idempotent:
                    raise SIP2OutcomeUnknown(message.code, str(broken.error)) from broken.error
                if attempt < tries and time_left():  # within the request's deadline
                    wait = self._retry.wait_after(attempt)
                    if wait > 0:
                        await asyncio.sleep(bounded(wait))
                    continue
                raise _read_error(message, broken.error) from broken.error
            except BaseException:
                await self._discard(conn)  # cancelled mid-request: never reuse
                raise
            mismatch = identity_mismatch(message, response)
            if mismatch is not None:
                await self._discard(conn)  # its next bytes may be the answer we wanted
                conn.log.error(
                    "sip2.client.identity_mismatch",
                    code=response.code,
                    request=message.code,
                    field=mismatch,
                    asked=redact(mismatch, message.get(mismatch) or ""),
                    answered=redact(mismatch, response.get(mismatch) or ""),
                )
                raise SIP2IdentityMismatch(response.code, mismatch)
            await self._release(conn)
            return response

    async def aclose(self) -> None:
        """Refuse new requests, let requests in flight finish, close every connection."""
        if self.state is PoolState.CLOSED:
            return
        self.state = PoolState.CLOSED
        await self._drained.wait()
        while self._idle:
            await self._idle.pop().close()

    # --- connections ---

    async def _acquire(self) -> _Connection:
        if self.state is not PoolState.OPEN:
            raise SIP2PoolClosed(f"pool is {self.state.value}")
        if self._slots.locked():  # wait for a free connection, not forever
            try:
                async with asyncio.timeout(bounded(self.settings.timeouts.pool)):
                    await self._slots.acquire()
            except TimeoutError:
                metrics.sip2_pool_waited(self._acs, served=False)
                raise SIP2Timeout("no free SIP2 connection in the pool") from None
            metrics.sip2_pool_waited(self._acs, served=True)
        else:
            await self._slots.acquire()  # free now: no wait, no timer
        self._busy += 1
        metrics.sip2_pool(self._acs, self._busy, len(self._idle))
        self._drained.clear()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.usable:
                    conn.log.info("sip2.client.stale_connection")
                    await conn.close()
                elif not self._idle_too_long(conn) or await self._probe(conn):
                    return conn
            return await self._open()
        except BaseException:
            self._done()
            raise

    def _idle_too_long(self, conn: _Connection) -> bool:
        limit = self.idle_limit
        return limit is not None and self._clock() - conn.last_used >= limit

    async def _probe(self, conn: _Connection) -> bool:
        """99 on an idle connection: True when it answered; closed when it did not."""
        try:
            status = await conn.exchange(SCStatus.build(), bounded(self.settings.timeouts.connect))
        except _Broken as broken:
            conn.log.info("sip2.client.idle_connection_dropped", error=type(broken.error).__name__)
            await conn.close()
            return False
        if not isinstance(status, ACSStatus):
            conn.log.warning("sip2.client.idle_check_unexpected_answer", code=status.code)
            await conn.close()
            return False
        self.acs_status = status
        conn.last_used = self._clock()
        return True

    async def _release(self, conn: _Connection) -> None:
        conn.last_used = self._clock()
        if self.state is PoolState.OPEN and conn.usable:
            self._idle.append(conn)
        else:
            await conn.close()
        self._done()

    async def _discard(self, conn: _Connection) -> None:
        await conn.close()
        self._done()

    def _done(self) -> None:
        self._busy -= 1
        self._slots.release()
        metrics.sip2_pool(self._acs, self._busy, len(self._idle))
        if self._busy == 0:
            self._drained.set()

    async def _open(self) -> _Connection:
        """A new connection, logged in (when configured) and checked with 99."""
        s = self.settings
        self._numbers += 1
        number = self._numbers
        try:
            async with asyncio.timeout(bounded(s.timeouts.connect)):
                reader, writer = await asyncio.open_connection(
                    s.host,
                    s.port,
                    ssl=self._ssl,
                    server_hostname=(s.tls.server_hostname if s.tls and self._ssl else None),
                    limit=s.max_frame_bytes * 2,
                )
        except (OSError, TimeoutError) as exc:
            raise SIP2ConnectionError(f"cannot connect to {s.host}:{s.port}: {exc}") from exc
        conn = _Connection(number, reader, writer, s)
        try:
            if s.login_user is not None:
                login = LoginRequest.build(
                    login_user_id=s.login_user,
                    login_password=s.login_password,
                    location_code=s.location_code,
                )
                answer = await conn.exchange(login, bounded(s.timeouts.connect))
                if not isinstance(answer, LoginResponse) or not answer.ok:
                    raise SIP2LoginFailed(f"the ACS refused login user {s.login_user!r}")
            status = await conn.exchange(SCStatus.build(), bounded(s.timeouts.connect))
        except _Broken as broken:
            await conn.close()
            raise SIP2ConnectionError(
                f"connection setup with {s.host}:{s.port} failed: {broken.error}"
            ) from broken.error
        except BaseException:
            await conn.close()
            raise
        assert isinstance(status, ACSStatus)
        self.acs_status = status
        conn.last_used = self._clock()
        retries = status.retries_allowed
        if retries is not None and retries != 999:
            conn.max_resends = min(s.max_resends, retries)
        conn.log.info(
            "sip2.client.connected",
            online=status.online_status,
            supported=status.supported_messages,
        )
        return conn


def _read_error(message: Message, error: BaseException) -> SIP2ClientError:
    if isinstance(error, TimeoutError):
        return SIP2Timeout(f"no answer to {message.code} in time")
    if isinstance(error, RemoteProtocolError):
        return SIP2ProtocolError(str(error))
    return SIP2ConnectionError(f"connection broke during {message.code}: {error}")
