"""Sans-I/O SIP2 connection: bytes in, messages out, messages in, bytes out (after h11).

``SIP2Connection`` never touches a socket. The transport feeds what it reads to
``receive_data()`` and calls ``next_event()`` until it returns ``NEED_DATA``; it writes what
``send()`` and ``resend()`` return. The object owns:

- framing: CR, CRLF, LF (and LF after CR, blank lines) accepted — CR only with
  ``CodecSettings.cr_only_input``, where an LF ends the connection as on strict servers; our
  terminator per settings; the receive buffer is bounded by ``CodecSettings.max_frame_bytes``;
- error detection: the AY sequence (0–9, wrapping, one per request; the ACS echoes it and the
  client checks the echo) and the AZ checksum, written and verified through the codec; with
  ``CodecSettings.require_checksum`` off, a server decides per message (a request without AZ
  is answered without AY/AZ, as real ACSs do);
- the 96/97 resend logic: the server keeps its last response and answers 97 from it; a
  request repeating the previous request exactly (its fields, AY and AZ — not AY and AZ
  alone: AZ is a sum that a swap of two digits keeps) is reported as ``RepeatedRequest`` so
  the server answers from that cache instead of acting twice; a frame that fails to parse
  (bad checksum included) is reported as ``BadFrame`` so the caller can answer 96 (server)
  or 97 (client);
- the protocol rules, as the table ``TRANSITIONS`` below: one request in flight, strictly
  request → response; when ``login_required``, patron and circulation messages only after a
  successful 93/94 (``authenticated``, ``login_needed_for()``).

An illegal step on our side raises ``LocalProtocolError`` naming role and state; a peer
breaking the rules raises ``RemoteProtocolError`` (and the connection goes to ERROR; close it).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import Enum

from ils_gateway.sip2.codec import DEFAULT_SETTINGS, CodecSettings, encode, parse
from ils_gateway.sip2.errors import LocalProtocolError, RemoteProtocolError, SIP2ParseError
from ils_gateway.sip2.messages import (
    LoginResponse,
    Message,
    RequestACSResend,
    RequestSCResend,
)

__all__ = [
    "CLOSED",
    "NEED_DATA",
    "TRANSITIONS",
    "BadFrame",
    "Event",
    "RepeatedRequest",
    "Role",
    "SIP2Connection",
    "State",
]


class Role(Enum):
    """Which side of the conversation this connection object plays."""

    CLIENT = "client"  # the SC: sends requests
    SERVER = "server"  # the ACS: answers them


class State(Enum):
    """Where one side stands in the request → response cycle."""

    IDLE = "idle"
    """Client: may send a request. Server: waiting for one."""
    AWAITING_RESPONSE = "awaiting response"
    """Client: a request is in flight."""
    RESPONSE_UNREADABLE = "response unreadable"
    """Client: the response failed to parse; send 97 (or give up and close)."""
    RESEND_REQUESTED = "resend requested"
    """Client: the ACS sent 96; call ``resend()`` (or give up and close)."""
    RESPONDING = "responding"
    """Server: a request (or 97, or a bad frame) arrived; one answer is owed."""
    ERROR = "error"
    """The conversation is broken (peer broke the rules, or framing lost); close it."""


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = _Sentinel("NEED_DATA")
"""``next_event()``: no complete frame buffered (or the server owes an answer first)."""
CLOSED = _Sentinel("CLOSED")
"""``next_event()``: the peer closed the connection (``receive_data(b"")``) between frames."""


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame arrived that failed to parse (bad checksum, malformed); answer 96 or 97."""

    error: SIP2ParseError
    frame: bytes


@dataclass(frozen=True, slots=True)
class RepeatedRequest:
    """Server side: the request repeats the previous one exactly (fields, AY, AZ): a resend.

    Answer with ``resend()`` (the cached response) rather than acting twice.
    """

    message: Message
    cached_response: bytes


Event = Message | BadFrame | RepeatedRequest | _Sentinel

# The protocol rules: (role, state, step) → next state. Steps are what happens on the wire:
# "send request" / "send response" / "send 96" / "send 97" / "resend" for our side,
# "receive request" / "receive response" / "receive 96" / "receive 97" / "receive repeat" /
# "receive bad frame" for the peer's. A step missing from the table is illegal in that state.
TRANSITIONS: dict[tuple[Role, State, str], State] = {
    # SC: strictly one request in flight.
    (Role.CLIENT, State.IDLE, "send request"): State.AWAITING_RESPONSE,
    (Role.CLIENT, State.AWAITING_RESPONSE, "receive response"): State.IDLE,
    (Role.CLIENT, State.AWAITING_RESPONSE, "receive 96"): State.RESEND_REQUESTED,
    (Role.CLIENT, State.AWAITING_RESPONSE, "receive bad frame"): State.RESPONSE_UNREADABLE,
    (Role.CLIENT, State.RESPONSE_UNREADABLE, "send 97"): State.AWAITING_RESPONSE,
    (Role.CLIENT, State.RESEND_REQUESTED, "resend"): State.AWAITING_RESPONSE,
    # After a read timeout the SC may send the very same bytes again; a good ACS spots the
    # repeated AY+AZ and answers from its cache, but not all do (see sip2.md).
    (Role.CLIENT, State.AWAITING_RESPONSE, "resend"): State.AWAITING_RESPONSE,
    # ACS: one answer per request, then back to waiting.
    (Role.SERVER, State.IDLE, "receive request"): State.RESPONDING,
    (Role.SERVER, State.IDLE, "receive repeat"): State.RESPONDING,
    (Role.SERVER, State.IDLE, "receive 97"): State.RESPONDING,
    (Role.SERVER, State.IDLE, "receive bad frame"): State.RESPONDING,
    (Role.SERVER, State.RESPONDING, "send response"): State.IDLE,
    (Role.SERVER, State.RESPONDING, "send 96"): State.IDLE,
    (Role.SERVER, State.RESPONDING, "resend"): State.IDLE,
}

# Messages a server accepts before a successful login when login is required.
_BEFORE_LOGIN = frozenset({"93", "99", "97"})
_TERMINATOR = re.compile(rb"[\r\n]")


class SIP2Connection:
    """The protocol state of one SIP2 connection, for either role, without any I/O."""

    def __init__(
        self,
        role: Role,
        settings: CodecSettings = DEFAULT_SETTINGS,
        *,
        login_required: bool = False,
    ) -> None:
        self.role = role
        self.settings = settings
        self.login_required = login_required
        self.state = State.IDLE
        self.authenticated = False
        """True after a 94 with ok=1 went by on this connection."""
        self._buffer = bytearray()
        self._eof = False
        self._next_sequence = 0
        # Client: the last request (bytes for 96, message for matching the response).
        self._last_request: Message | None = None
        self._last_request_bytes: bytes | None = None
        self._expected_response: str | None = None
        # Server: the request being answered, the last response and what it answered.
        self._current_request: Message | None = None
        self._last_response_bytes: bytes | None = None
        # The request the last response answered (with its AY/AZ): a resend repeats it exactly.
        self._answered: Message | None = None
        # Server, error detection decided per message: how a frame without AZ is answered.
        self._plain = dataclasses.replace(settings, error_detection=False)

    def reframe(self, settings: CodecSettings) -> None:
        """Read the next frames and write the next answers with ``settings`` (a server face
        whose machine's profile was chosen at login, or reloaded). Bytes already buffered
        are read with the new settings too."""
        self.settings = settings
        self._plain = dataclasses.replace(settings, error_detection=False)

    # --- rules ------------------------------------------------------------------------

    def _next_state(self, step: str, *, local: bool) -> State:
        """The state after ``step``, or the protocol error for an illegal step."""
        nxt = TRANSITIONS.get((self.role, self.state, step))
        if nxt is not None:
            return nxt
        if local:
            raise LocalProtocolError(self.role.value, self.state.value, f"cannot {step}")
        state = self.state
        self.state = State.ERROR
        raise RemoteProtocolError(
            f"peer: {step} is not allowed while {self.role.value} is {state.value}"
        )

    def _step(self, step: str, *, local: bool) -> None:
        self.state = self._next_state(step, local=local)

    def login_needed_for(self, message: Message) -> bool:
        """True when ``message`` may not be served/sent yet because login is required."""
        return self.login_required and not self.authenticated and message.code not in _BEFORE_LOGIN

    # --- receiving ----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the transport; ``b""`` means the peer closed."""
        if not data:
            self._eof = True
            return
        self._buffer += data

    @property
    def trailing_data(self) -> bytes:
        """Bytes received but not yet turned into events."""
        return bytes(self._buffer)

    def _next_frame(self) -> bytes | None:
        buf = self._buffer
        start = 0
        while start < len(buf) and buf[start] in (13, 10):
            start += 1
        if self.settings.cr_only_input and 10 in buf[:start]:
            self._lf_refused()
        if start:
            del buf[:start]
        m = _TERMINATOR.search(buf)
        if (
            self.settings.cr_only_input
            and m is not None
            and (buf[m.start()] == 10 or buf[m.end() : m.end() + 1] == b"\n")
        ):
            self._lf_refused()
        if m is None:
            if len(buf) > self.settings.max_frame_bytes:
                self.state = State.ERROR
                raise SIP2ParseError(
                    -1, f"no terminator within {self.settings.max_frame_bytes} bytes", "frame"
                )
            return None
        frame = bytes(buf[: m.start()])
        del buf[: m.end()]
        return frame

    def _lf_refused(self) -> None:
        """A strict server's answer to LF or CRLF framing: none, the connection is closed."""
        self.state = State.ERROR
        raise RemoteProtocolError("frame ended with LF or CRLF; this peer reads CR only")

    def next_event(self) -> Event:
        """The next event from received bytes, or ``NEED_DATA`` / ``CLOSED``."""
        if self.state is State.ERROR:
            raise LocalProtocolError(self.role.value, self.state.value, "connection is broken")
        if self.role is Role.SERVER and self.state is State.RESPONDING:
            return NEED_DATA  # answer the current request first
        frame = self._next_frame()
        if frame is None:
            if self._eof:
                if self._buffer:
                    self.state = State.ERROR
                    raise RemoteProtocolError("peer closed the connection in the middle of a frame")
                return CLOSED
            return NEED_DATA
        try:
            message = parse(frame, self.settings)
        except SIP2ParseError as exc:
            if exc.offset == -1:  # oversize: no way to resynchronise
                self.state = State.ERROR
                raise
            self._step("receive bad frame", local=False)
            return BadFrame(exc, frame)
        if self.role is Role.SERVER:
            return self._server_received(message)
        return self._client_received(message)

    def _server_received(self, message: Message) -> Event:
        if message.sender != "SC":
            self._step(f"receive {message.code} (an ACS message)", local=False)
        if isinstance(message, RequestACSResend):
            self._step("receive 97", local=False)
            return message
        # Same AY and AZ is not enough: AZ is a 16-bit sum, and swapping two digits of a
        # barcode keeps it. A resend repeats the request exactly (every field, AY and AZ).
        if (
            message.checksum is not None
            and message == self._answered
            and self._last_response_bytes is not None
        ):
            self._step("receive repeat", local=False)
            self._current_request = message
            return RepeatedRequest(message, self._last_response_bytes)
        self._step("receive request", local=False)
        self._current_request = message
        return message

    def _client_received(self, message: Message) -> Event:
        if isinstance(message, RequestSCResend):
            self._step("receive 96", local=False)
            return message
        if message.sender != "ACS" or message.code != self._expected_response:
            self._step(f"receive {message.code} (expected {self._expected_response})", local=False)
        request = self._last_request
        if (
            self.settings.error_detection
            and request is not None
            and request.sequence is not None
            and message.sequence is not None
            and message.sequence != request.sequence
        ):
            self.state = State.ERROR
            raise RemoteProtocolError(
                f"response sequence {message.sequence} does not echo request's {request.sequence}"
            )
        self._step("receive response", local=False)
        if isinstance(message, LoginResponse):
            self.authenticated = message.ok
        return message

    # --- sending ------------------------------------------------------------------------

    def send(self, message: Message) -> bytes:
        """Bytes to write for ``message``, with sequence and checksum filled in."""
        if self.role is Role.CLIENT:
            return self._client_send(message)
        return self._server_send(message)

    def _encode(
        self, message: Message, sequence: int | None, settings: CodecSettings | None = None
    ) -> bytes:
        if message.sequence != sequence or message.checksum is not None:
            message = dataclasses.replace(message, sequence=sequence, checksum=None)
        return encode(message, settings or self.settings)

    def _client_send(self, message: Message) -> bytes:
        if message.sender != "SC":
            raise LocalProtocolError(
                self.role.value, self.state.value, f"a client cannot send {message.code}"
            )
        if isinstance(message, RequestACSResend):
            self._step("send 97", local=True)
            return self._encode(message, None)
        if self.login_needed_for(message):
            raise LocalProtocolError(
                self.role.value, self.state.value, f"login required before {message.code}"
            )
        after = self._next_state("send request", local=True)
        sequence = self._next_sequence if self.settings.error_detection else None
        if message.sequence != sequence or message.checksum is not None:
            message = dataclasses.replace(message, sequence=sequence, checksum=None)
        data = encode(message, self.settings)
        self.state = after
        if sequence is not None:
            self._next_sequence = (sequence + 1) % 10
        self._last_request = message
        self._last_request_bytes = data
        self._expected_response = message.response_code
        return data

    def _server_send(self, message: Message) -> bytes:
        if message.sender != "ACS":
            raise LocalProtocolError(
                self.role.value, self.state.value, f"a server cannot send {message.code}"
            )
        if isinstance(message, RequestSCResend):
            self._step("send 96", local=True)
            self._current_request = None
            return self._encode(message, None)
        after = self._next_state("send response", local=True)
        request = self._current_request
        if request is None:  # we owe the answer to a 97 or a bad frame
            raise LocalProtocolError(
                self.role.value, self.state.value, "answer a 97 with resend(), a bad frame with 96"
            )
        if request.response_code != message.code:
            raise LocalProtocolError(
                self.role.value,
                self.state.value,
                f"{message.code} does not answer {request.code} (expected {request.response_code})",
            )
        if self.login_needed_for(request):
            raise LocalProtocolError(
                self.role.value, self.state.value, f"login required before {request.code}"
            )
        settings = self.settings
        if settings.error_detection and request.checksum is None and not settings.require_checksum:
            settings = self._plain  # asked without AY/AZ: answered without (sip2.md)
        sequence = request.sequence if settings.error_detection else None
        data = self._encode(message, sequence, settings)
        self.state = after
        if isinstance(message, LoginResponse):
            self.authenticated = message.ok
        self._last_response_bytes = data
        self._answered = request if request.checksum else None
        self._current_request = None
        return data

    def resend(self) -> bytes:
        """Bytes to write again: the last request (client, after 96 or a timeout) or the
        last response (server, after 97 or a ``RepeatedRequest``)."""
        cached = self._last_request_bytes if self.role is Role.CLIENT else self._last_response_bytes
        if cached is None:
            raise LocalProtocolError(self.role.value, self.state.value, "nothing to resend")
        self._step("resend", local=True)
        self._current_request = None
        return cached
