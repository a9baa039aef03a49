"""Encode and parse single SIP2 frames (sans-I/O).

``parse(frame, settings)`` turns one frame (with or without its terminator) into a message
object and raises ``SIP2ParseError`` — and nothing else — when it cannot. ``encode(message,
settings)`` turns a message into bytes, terminator included, writing a fresh AZ checksum
when error detection is on (``keep_checksum=True`` reproduces the received trailer verbatim,
for relays and round-trip tests).

Text is decoded as a whole before splitting on ``|`` (in CP932, 49 characters such as ポ and
竹 have 0x7C as their second byte), then normalised to NFC. A byte the encoding cannot decode
(a Latin-1 byte in a UTF-8 title, common in old records) does not fail the frame when it sits
in free text (``REPLACEABLE_FIELDS``, plus the connection's ``free_text_fields`` — list
entries on an ACS that lists titles): it is read as U+FFFD and the field id is logged, never
its value. Anywhere else — identifiers, fixed fields — it is a ``SIP2ParseError``. The
checksum is verified on the bytes (or characters, per ``checksum_basis``) exactly as received.

A character the wire encoding cannot write (e.g. 𠮷 or an emoji in CP932) fails the encode
(``FieldValueError``) unless ``text_errors="replace"``: then, in free text only (titles,
screen and print lines, names, addresses: ``REPLACEABLE_FIELDS``), it is written as 〓 (the
geta mark Japanese systems use for a missing glyph; ``?`` where the encoding lacks it).
Identifiers are never altered: a barcode or card number that cannot be written still fails.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import structlog

from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.errors import FieldValueError, SIP2ParseError
from ils_gateway.sip2.fields import Field, FixedReadError
from ils_gateway.sip2.messages import MESSAGE_TYPES, Message
from ils_gateway.sip2.speedups import DEFAULT, Speedups, tail_slots

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_SETTINGS",
    "REPLACEABLE_FIELDS",
    "CodecSettings",
    "encode",
    "parse",
]

# A 64 response listing a page of 50 items with titles runs to a few KB; 64 KiB leaves room
# for ACSs that ignore BP/BQ paging and list hundreds of loans, while bounding the memory a
# peer can make us hold for one unterminated frame.
DEFAULT_MAX_FRAME_BYTES = 64 * 1024

_TERMINATORS = ("\r", "\r\n", "\n")

REPLACEABLE_FIELDS = frozenset({"AJ", "AF", "AG", "AE", "AM", "BD"})
"""Free-text fields (title, screen message, print line, name, library name, address): on the
way out, ``text_errors="replace"`` may replace their unwritable characters; on the way in,
their undecodable bytes are read as U+FFFD (logged by field id). Never identifiers."""
_UNDECODED = re.compile("[\udc80-\udcff]+")
_log = structlog.get_logger("ils_gateway.sip2.codec")
_REPLACEMENT = "〓"
_HEX = frozenset("0123456789ABCDEFabcdef")
# The parser's hot helpers (speedups: compiled when built, else pure Python), as globals.
_byte_sum = DEFAULT.byte_sum
_split_fields = DEFAULT.split_fields
_parse_body = DEFAULT.parse_body
_TAIL = tail_slots(Message)


def _use_speedups(speedups: Speedups) -> Speedups:
    """Make the parser use ``speedups`` (tests run both); return the one it used before."""
    global _byte_sum, _split_fields, _parse_body
    before = _SPEEDUPS[0]
    _byte_sum, _split_fields = speedups.byte_sum, speedups.split_fields
    _parse_body = speedups.parse_body
    _SPEEDUPS[0] = speedups
    return before


_SPEEDUPS = [DEFAULT]


@dataclass(frozen=True, slots=True)
class CodecSettings:
    """How frames are read and written on one connection."""

    encoding: str = "utf-8"
    """Text encoding of the wire: ``utf-8`` (default) or ``cp932`` for Shift_JIS systems."""
    error_detection: bool = True
    """Write AY/AZ on outgoing frames and expect AZ on incoming ones."""
    verify_checksum: bool = True
    """Check incoming AZ (only when ``error_detection`` is on)."""
    checksum_basis: ChecksumBasis = ChecksumBasis.BYTES
    """Sum encoded bytes (spec) or characters (some systems)."""
    terminator: str = "\r"
    """What we write after a frame: CR (spec), CRLF (Koha's default) or LF."""
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    """Largest incoming frame accepted, terminator excluded."""
    text_errors: Literal["strict", "replace"] = "strict"
    """What encode does with a character ``encoding`` cannot write in ``REPLACEABLE_FIELDS``:
    fail (strict) or write a replacement mark (replace). Other fields always fail."""
    require_checksum: bool = True
    """With ``error_detection`` on: a frame without AZ is malformed (True), or read as sent
    with error detection off (False) — decided per message, as Evergreen's SIPServer does
    (``Sip/MsgType.pm``, ``new``: "error detection is active if ... the last nine characters
    begin with a sequence number field"); a server face then answers such a frame without
    AY/AZ. A frame that has AZ is always checked."""
    raw_text_bytes: bool = False
    """Simulators only: a lone surrogate U+DC80–U+DCFF in free text (``REPLACEABLE_FIELDS``)
    is written as the single byte it stands for, to imitate a legacy byte in an old record
    (a Latin-1 byte in a UTF-8 title). Identifiers never carry one."""
    cr_only_input: bool = False
    """Read frames as strict servers do: CR (the spec's terminator) only. A frame ended by LF
    or CRLF is a framing error that closes the connection (``SIP2Connection``); off, CR, CRLF
    and LF are all accepted."""
    free_text_fields: frozenset[str] = frozenset()
    """Fields that hold free text on this connection besides ``REPLACEABLE_FIELDS``, treated
    like them both ways: the 64's list entries (AS, CD, …) on an ACS that lists titles there
    (a tenant's ``list_mode``/``title_hold_entries``). Empty: list entries are strict ids."""

    def __post_init__(self) -> None:
        try:
            name = codecs.lookup(self.encoding).name
        except LookupError as exc:
            raise ValueError(f"unknown encoding {self.encoding!r}") from exc
        object.__setattr__(self, "encoding", name)
        if self.terminator not in _TERMINATORS:
            raise ValueError("terminator must be CR, CRLF or LF")
        if self.max_frame_bytes < 64:
            raise ValueError("max_frame_bytes must be at least 64")
        if self.text_errors not in ("strict", "replace"):
            raise ValueError("text_errors must be 'strict' or 'replace'")


DEFAULT_SETTINGS = CodecSettings()


def _field_at(cls: type[Message] | None, text: str, offset: int) -> str:
    """Name the field that holds character ``offset`` of ``text`` (for error messages)."""
    if offset < 2 or cls is None:
        return "command"
    pos = 2
    for spec in cls.FIXED:
        if offset < pos + spec.kind.width:
            return spec.name
        pos += spec.kind.width
    start = text.rfind("|", 0, offset) + 1
    start = max(start, pos)
    return text[start : start + 2] or "frame"


def parse(frame: bytes, settings: CodecSettings = DEFAULT_SETTINGS) -> Message:
    """Parse one frame into its message object; ``SIP2ParseError`` when malformed."""
    data = frame.rstrip(b"\r\n")
    if len(data) > settings.max_frame_bytes:
        raise SIP2ParseError(-1, f"frame longer than {settings.max_frame_bytes} bytes", "frame")
    undecodable = False
    try:
        raw_text = data.decode(settings.encoding)
    except UnicodeDecodeError:
        # Each undecodable byte becomes a lone surrogate (U+DC80-U+DCFF) in its place; the
        # fields holding one are settled once the frame is split (_settle_undecodable).
        raw_text = data.decode(settings.encoding, errors="surrogateescape")
        undecodable = True
    if "\r" in raw_text or "\n" in raw_text:
        at = min(i for i in (raw_text.find("\r"), raw_text.find("\n")) if i >= 0)
        raise SIP2ParseError(at, "CR or LF inside a frame", "frame")
    text = raw_text if raw_text.isascii() else unicodedata.normalize("NFC", raw_text)

    cls = MESSAGE_TYPES.get(text[:2])
    if cls is None:
        raise SIP2ParseError(0, f"unknown command code {text[:2]!r}", "command")
    if undecodable and _UNDECODED.search(text, 0, 2):
        raise SIP2ParseError(0, f"undecodable bytes for {settings.encoding}", "command")

    # Fixed fields: one match for their standard spelling (the values are then read at fixed
    # offsets by cls._from_text, at the end); anything else is read field by field.
    values: list[Any] | None = None
    if cls._FIXED_RX.match(text, 2) is not None:
        pos = cls._FIXED_END
        if (
            _parse_body is not None
            and not undecodable
            and settings.checksum_basis is ChecksumBasis.BYTES
        ):
            # Compiled: trailer, checksum, split and build in one call for a sound frame;
            # None for anything else, which the steps below then read and name the fault of.
            mode = 0
            if settings.error_detection and settings.verify_checksum:
                mode = 2 if settings.require_checksum else 1
            message: Message | None = _parse_body(cls, cls._PLAN, _TAIL, text, pos, data, mode)
            if message is not None:
                return message
    else:
        values = []
        append = values.append
        pos = 2
        try:
            for read in cls._READERS:
                value, pos = read(text, pos)
                append(value)
        except FixedReadError as exc:
            raise SIP2ParseError(pos, str(exc), cls._FIXED_NAMES[len(values)]) from None
    if undecodable:
        bad = _UNDECODED.search(text, 0, pos)
        if bad is not None:
            reason = f"undecodable bytes for {settings.encoding}"
            raise SIP2ParseError(bad.start(), reason, _field_at(cls, text, bad.start()))

    # Trailer: [AY<digit>]AZ<4 hex> at the very end; the field before it may lack its "|".
    length = len(text)
    body_end = length
    sequence: int | None = None
    checksum: str | None = None
    if length - pos >= 6 and text[length - 6 : length - 4] == "AZ":
        stated = text[length - 4 :]
        if _HEX.issuperset(stated):
            checksum = stated
            body_end = length - 6
            if body_end - pos >= 3 and text[body_end - 3 : body_end - 1] == "AY":
                digit = text[body_end - 1]
                if not ("0" <= digit <= "9"):
                    raise SIP2ParseError(body_end - 1, f"sequence {digit!r} is not a digit", "AY")
                sequence = ord(digit) - 48
                body_end -= 3

    if (
        settings.error_detection
        and settings.verify_checksum
        and (checksum is not None or settings.require_checksum)
    ):
        if checksum is None:
            raise SIP2ParseError(length, "no AZ checksum (error detection is on)", "AZ")
        if settings.checksum_basis is ChecksumBasis.BYTES:
            total = _byte_sum(data[: len(data) - 4])
        elif undecodable:  # an undecodable byte counts as its own value
            total = sum(_char_value(c) for c in raw_text[: len(raw_text) - 4])
        else:
            total = sum(map(ord, raw_text[: len(raw_text) - 4]))
        if (total + int(checksum, 16)) & 0xFFFF:  # stated + computed sum to 0 mod 2**16
            expected = f"{-total & 0xFFFF:04X}"
            raise SIP2ParseError(
                length - 4, f"checksum mismatch (stated {checksum}, computed {expected})", "AZ"
            )

    terminated = True
    fields: tuple[Field, ...] = ()
    if body_end > pos:
        terminated = text[body_end - 1] == "|"
        split = _split_fields(text, pos, body_end)
        if split is None:
            _raise_short_field(text, pos, body_end)
        fields = split
        if undecodable:
            fields = _settle_undecodable(
                cls.code, fields, pos, settings.encoding, settings.free_text_fields
            )
    if values is None:
        return cls._from_text(text, fields, sequence, checksum, terminated)
    return cls._from_wire(values, fields, sequence, checksum, terminated)


def _raise_short_field(text: str, pos: int, body_end: int) -> NoReturn:
    """Raise the error for the first variable field too short to have an id."""
    body = text[pos:body_end]
    if body[-1] == "|":
        body = body[:-1]
    offset = pos
    s = ""
    for s in body.split("|"):
        if len(s) < 2:
            break
        offset += len(s) + 1
    raise SIP2ParseError(offset, "variable field without a two-character id", s or "|")


def _char_value(c: str) -> int:
    n = ord(c)
    return n - 0xDC00 if 0xDC80 <= n <= 0xDCFF else n


def _settle_undecodable(
    code: str,
    fields: tuple[Field, ...],
    start: int,
    encoding: str,
    free_text: frozenset[str] = frozenset(),
) -> tuple[Field, ...]:
    """Fields with undecodable bytes: free text (``REPLACEABLE_FIELDS`` and ``free_text``)
    gets U+FFFD for each and its id is logged (never its value); anywhere else — ids above
    all — it is a ``SIP2ParseError``. ``start`` is where the variable fields begin."""
    settled = []
    offset = start
    for fid, value in fields:
        if _UNDECODED.search(fid):
            raise SIP2ParseError(offset, f"undecodable bytes for {encoding}", "frame")
        bad = _UNDECODED.search(value)
        if bad is not None:
            if fid not in REPLACEABLE_FIELDS and fid not in free_text:
                raise SIP2ParseError(
                    offset + 2 + bad.start(), f"undecodable bytes for {encoding}", fid
                )
            _log.warning("sip2.codec.undecodable_text", code=code, field=fid, encoding=encoding)
            value = _UNDECODED.sub("\ufffd", value)
        settled.append((fid, value))
        offset += len(fid) + len(value) + 1
    return tuple(settled)


def _writable(value: str, encoding: str, errors: str = "strict") -> str:
    """``value`` with each character ``encoding`` cannot write replaced by the mark."""
    try:
        value.encode(encoding, errors)
        return value
    except UnicodeEncodeError:
        pass
    try:
        mark = _REPLACEMENT if _REPLACEMENT.encode(encoding) else "?"
    except UnicodeEncodeError:
        mark = "?"
    out = []
    for ch in value:
        try:
            ch.encode(encoding, errors)
            out.append(ch)
        except UnicodeEncodeError:
            out.append(mark)
    return "".join(out)


def _encode_text(text: str, encoding: str, message: Message, errors: str = "strict") -> bytes:
    try:
        return text.encode(encoding, errors)
    except UnicodeEncodeError as exc:
        field = _field_at(type(message), text, exc.start)
        reason = f"{text[exc.start]!r} cannot be written in {encoding}"
        raise FieldValueError(field, reason) from None


def encode(
    message: Message,
    settings: CodecSettings = DEFAULT_SETTINGS,
    *,
    keep_checksum: bool = False,
    terminator: bool = True,
) -> bytes:
    """Encode ``message`` as one frame.

    With error detection on, writes ``AY<sequence>`` (when the message has one; 96/97 have
    none) and a freshly computed ``AZ``. ``keep_checksum=True`` instead writes the trailer
    stored on the message verbatim; so does error detection off (a message built by us has
    none; one received keeps what it had, so a relay changes nothing). ``terminator=False``
    leaves off the terminator.
    """
    parts = [message.code]
    for spec in message.FIXED:
        parts.append(spec.kind.write(spec.name, getattr(message, spec.name)))
    errors = "strict"
    if message.fields:
        replace = settings.text_errors == "replace"
        raw = settings.raw_text_bytes
        extra = settings.free_text_fields
        for fid, value in message.fields:
            free = fid in REPLACEABLE_FIELDS or fid in extra
            if raw and not value.isascii() and _UNDECODED.search(value):
                if not free:
                    raise FieldValueError(fid, "a raw byte is only allowed in free text")
                errors = "surrogateescape"
            if replace and free and not value.isascii():
                value = _writable(value, settings.encoding, errors)
            parts.append(fid)
            parts.append(value)
            parts.append("|")
        if not message.last_field_terminated:
            parts.pop()
    if keep_checksum or not settings.error_detection:
        if message.sequence is not None:
            parts.append(f"AY{message.sequence}")
        if message.checksum is not None:
            parts.append(f"AZ{message.checksum}")
        text = "".join(parts)
        data = _encode_text(text, settings.encoding, message, errors)
    else:
        if message.sequence is not None:
            parts.append(f"AY{message.sequence}")
        parts.append("AZ")
        text = "".join(parts)
        data = _encode_text(text, settings.encoding, message, errors)
        if settings.checksum_basis is ChecksumBasis.BYTES:
            total = _byte_sum(data)
        elif errors != "strict":
            total = sum(_char_value(c) for c in text)
        else:
            total = sum(map(ord, text))
        data += f"{-total & 0xFFFF:04X}".encode("ascii")
    if terminator:
        data += settings.terminator.encode("ascii")
    return data
