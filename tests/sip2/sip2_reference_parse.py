"""A straightforward parse of one SIP2 frame, to check the codec's fast path against.

This is the codec's parse as it was before issue 17 made it fast: every fixed field read by
its kind's ``read`` in turn, the checksum summed with ``sum``, the variable part split on
``|`` and sliced into pairs in a list comprehension. Same results, same errors (offset,
reason, field), a fraction of the speed.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.codec import (
    _HEX,
    _UNDECODED,
    CodecSettings,
    _char_value,
    _field_at,
    _settle_undecodable,
)
from ils_gateway.sip2.errors import SIP2ParseError
from ils_gateway.sip2.fields import Field, FixedReadError
from ils_gateway.sip2.messages import MESSAGE_TYPES, Message


def reference_parse(frame: bytes, settings: CodecSettings) -> Message:
    end = len(frame)
    while end and frame[end - 1] in b"\r\n":
        end -= 1
    if end > settings.max_frame_bytes:
        raise SIP2ParseError(-1, f"frame longer than {settings.max_frame_bytes} bytes", "frame")
    data = frame[:end]
    undecodable = False
    try:
        raw_text = data.decode(settings.encoding)
    except UnicodeDecodeError:
        raw_text = data.decode(settings.encoding, errors="surrogateescape")
        undecodable = True
    if "\r" in raw_text or "\n" in raw_text:
        at = min(i for i in (raw_text.find("\r"), raw_text.find("\n")) if i >= 0)
        raise SIP2ParseError(at, "CR or LF inside a frame", "frame")
    text = unicodedata.normalize("NFC", raw_text)

    cls = MESSAGE_TYPES.get(text[:2])
    if cls is None:
        raise SIP2ParseError(0, f"unknown command code {text[:2]!r}", "command")
    if undecodable and _UNDECODED.search(text, 0, 2):
        raise SIP2ParseError(0, f"undecodable bytes for {settings.encoding}", "command")

    values: list[Any] = []
    pos = 2
    for spec in cls.FIXED:
        try:
            value, pos = spec.kind.read(text, pos)
        except FixedReadError as exc:
            raise SIP2ParseError(pos, str(exc), spec.name) from None
        values.append(value)
    if undecodable:
        bad = _UNDECODED.search(text, 0, pos)
        if bad is not None:
            reason = f"undecodable bytes for {settings.encoding}"
            raise SIP2ParseError(bad.start(), reason, _field_at(cls, text, bad.start()))

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
                sequence = int(digit)
                body_end -= 3

    if (
        settings.error_detection
        and settings.verify_checksum
        and (checksum is not None or settings.require_checksum)
    ):
        if checksum is None:
            raise SIP2ParseError(length, "no AZ checksum (error detection is on)", "AZ")
        if settings.checksum_basis is ChecksumBasis.BYTES:
            total = sum(data[: len(data) - 4])
        else:
            total = sum(_char_value(c) for c in raw_text[: len(raw_text) - 4])
        expected = f"{-total & 0xFFFF:04X}"
        if checksum.upper() != expected:
            raise SIP2ParseError(
                length - 4, f"checksum mismatch (stated {checksum}, computed {expected})", "AZ"
            )

    terminated = True
    fields: tuple[Field, ...] = ()
    if body_end > pos:
        body = text[pos:body_end]
        if body.endswith("|"):
            body = body[:-1]
        else:
            terminated = False
        offset = pos
        pairs = []
        for segment in body.split("|"):
            if len(segment) < 2:
                raise SIP2ParseError(
                    offset, "variable field without a two-character id", segment or "|"
                )
            pairs.append((segment[:2], segment[2:]))
            offset += len(segment) + 1
        fields = tuple(pairs)
        if undecodable:
            fields = _settle_undecodable(
                cls.code, fields, pos, settings.encoding, settings.free_text_fields
            )
    obj = object.__new__(cls)
    for spec, value in zip(cls.FIXED, values, strict=True):
        object.__setattr__(obj, spec.name, value)
    object.__setattr__(obj, "fields", fields)
    object.__setattr__(obj, "sequence", sequence)
    object.__setattr__(obj, "checksum", checksum)
    object.__setattr__(obj, "last_field_terminated", terminated)
    return obj
