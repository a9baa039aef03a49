"""Errors of the SIP2 protocol core.

Like h11, "the peer broke the protocol" and "we broke it" are different errors::

    SIP2Error
    ├── RemoteProtocolError        the peer sent something we cannot accept
    │   └── SIP2ParseError         a malformed frame (offset, reason, field)
    ├── LocalProtocolError         we tried an illegal step (names role and state)
    └── FieldValueError            a value we were asked to write is not allowed (names the field)

The codec raises only ``SIP2ParseError`` for malformed input, whatever the bytes: never
IndexError, UnicodeDecodeError, ValueError or anything else. Adapters translate these in one
place (a malformed frame from an ACS is a 502 backend error).
"""

from __future__ import annotations

__all__ = [
    "FieldValueError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "RequestRejected",
    "SIP2Error",
    "SIP2ParseError",
    "error_site",
]


class SIP2Error(Exception):
    """Base of every error raised by the SIP2 protocol core."""


class RemoteProtocolError(SIP2Error):
    """The peer broke the protocol (bad frame, wrong response, sequence not echoed)."""


class SIP2ParseError(RemoteProtocolError):
    """A frame could not be parsed; ``offset`` counts characters of the decoded frame.

    ``field`` is a two-letter variable field id, a fixed field name, or one of ``command``,
    ``frame``, ``AY``, ``AZ``; ``offset`` is -1 when no position applies (e.g. oversize).
    """

    def __init__(self, offset: int, reason: str, field: str | None = None) -> None:
        self.offset = offset
        self.reason = reason
        self.field = field
        where = f" in {field}" if field else ""
        super().__init__(f"malformed SIP2 frame{where} at offset {offset}: {reason}")


class LocalProtocolError(SIP2Error):
    """This side tried a step the protocol does not allow in its current state."""

    def __init__(self, role: str, state: str, reason: str) -> None:
        self.role = role
        self.state = state
        self.reason = reason
        super().__init__(f"{role} in state {state}: {reason}")


class FieldValueError(SIP2Error, ValueError):
    """A value cannot be written to a SIP2 field (``|``, CR, LF, too long, wrong format)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"SIP2 field {field}: {reason}")


class RequestRejected(SIP2Error):
    """A request no answer can be written for (a field over its length limit, a value no
    handler can use and no refusal shape): the server face closes the connection quietly."""


def error_site(exc: BaseException) -> str:
    """File, line and function an exception was raised in: for a log line that must carry
    neither the message nor locals (either may hold a password or a card number)."""
    tb = exc.__traceback__
    if tb is None:
        return "?"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} in {code.co_name}"
