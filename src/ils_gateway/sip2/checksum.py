"""The SIP2 ``AZ`` checksum.

Add every unit of the message from its first character through the ``AZ`` itself as an
unsigned 16-bit sum, negate it (two's complement) and write four uppercase hex digits. The
unit is an encoded byte by default; some systems sum characters instead, which differs only
for non-ASCII text, so the basis is a per-connection setting (``ChecksumBasis``).
"""

from __future__ import annotations

import zlib
from enum import Enum

# ``byte_sum`` (used by the codec) stays out of the pinned public names.
__all__ = ["ChecksumBasis", "checksum_of_bytes", "checksum_of_text", "compute_checksum"]


class ChecksumBasis(Enum):
    """What the checksum adds up: encoded bytes (the spec's reading) or code points."""

    BYTES = "bytes"
    CHARACTERS = "characters"


def _finish(total: int) -> str:
    return f"{-total & 0xFFFF:04X}"


_ADLER_BASE = 65521
_HIGH_NIBBLE = bytes(b >> 4 for b in range(256))
# Both nibble sums of n bytes are at most 15 n, below the Adler-32 modulus up to this length.
FAST_SUM_MAX_BYTES = (_ADLER_BASE - 1) // 15


def byte_sum(data: bytes) -> int:
    """``sum(data)``, in C for frames up to ``FAST_SUM_MAX_BYTES`` (about 4 KB).

    ``sum`` over a bytes object makes a Python int of every byte (some 10 ns each, most of
    the cost of verifying a checksum). Adler-32's low half is 1 + the byte sum modulo
    65521, computed in C: that modulus alone loses the sum past 65,520, but the sum of the
    high nibbles (``b >> 4``, one ``bytes.translate`` away) stays below it up to 4,368
    bytes, and then the sum of the low nibbles, the rest, is fixed by the first modulo 65521
    too: sum = 16 * high + low. Longer data is summed by ``sum``.
    """
    if len(data) > FAST_SUM_MAX_BYTES:
        return sum(data)
    total = ((zlib.adler32(data) & 0xFFFF) - 1) % _ADLER_BASE
    high = ((zlib.adler32(data.translate(_HIGH_NIBBLE)) & 0xFFFF) - 1) % _ADLER_BASE
    return 16 * high + (total - 16 * high) % _ADLER_BASE


def checksum_of_bytes(data: bytes) -> str:
    """Checksum of ``data``, which must run from the command code through ``AZ``."""
    return _finish(byte_sum(data))


def checksum_of_text(text: str) -> str:
    """Checksum over code points of ``text`` (from the command code through ``AZ``)."""
    return _finish(sum(map(ord, text)))


def compute_checksum(text: str, data: bytes, basis: ChecksumBasis) -> str:
    """Checksum of a frame prefix given both as text and as its encoded bytes."""
    if basis is ChecksumBasis.BYTES:
        return _finish(byte_sum(data))
    return _finish(sum(map(ord, text)))
