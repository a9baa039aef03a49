"""The SIP2 ``AZ`` checksum.

Add every unit of the message from its first character through the ``AZ`` itself as an
unsigned 16-bit sum, negate it (two's complement) and write four uppercase hex digits. The
unit is an encoded byte by default; some systems sum characters instead, which differs only
for non-ASCII text, so the basis is a per-connection setting (``ChecksumBasis``).
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ChecksumBasis", "checksum_of_bytes", "checksum_of_text", "compute_checksum"]


class ChecksumBasis(Enum):
    """What the checksum adds up: encoded bytes (the spec's reading) or code points."""

    BYTES = "bytes"
    CHARACTERS = "characters"


def _finish(total: int) -> str:
    return f"{-total & 0xFFFF:04X}"


def checksum_of_bytes(data: bytes) -> str:
    """Checksum of ``data``, which must run from the command code through ``AZ``."""
    return _finish(sum(data))


def checksum_of_text(text: str) -> str:
    """Checksum over code points of ``text`` (from the command code through ``AZ``)."""
    return _finish(sum(map(ord, text)))


def compute_checksum(text: str, data: bytes, basis: ChecksumBasis) -> str:
    """Checksum of a frame prefix given both as text and as its encoded bytes."""
    if basis is ChecksumBasis.BYTES:
        return _finish(sum(data))
    return _finish(sum(map(ord, text)))
