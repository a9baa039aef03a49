"""The PROXY protocol (v1 text, v2 binary) a load balancer sends before the SIP2 bytes.

A TCP load balancer (HAProxy, AWS NLB, nginx stream) in front of the face hides the machine's
address; with ``send-proxy`` it writes one header naming it first. Read per the HAProxy
specification (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt):

- v1: ``PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\\r\\n``, 107 bytes at most, or
  ``PROXY UNKNOWN ...\\r\\n`` (the connection's own address stands);
- v2: the 12-byte signature, version 2 with command LOCAL (health checks: own address) or
  PROXY, family TCP/UDP over IPv4 or IPv6 (UNSPEC and UNIX: own address), a 16-bit length,
  the addresses, then TLVs (skipped).

``read_proxy_header`` reads exactly the header from an ``asyncio.StreamReader`` and nothing
after it; anything malformed is ``ProxyHeaderError`` (the caller closes the connection).
Only the peers a listener trusts may send one: the caller checks that before reading.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "V2_SIGNATURE",
    "ProxyHeader",
    "ProxyHeaderError",
    "parse_v1",
    "parse_v2",
    "read_proxy_header",
]

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_V1_MAX = 107
_V2_MAX_BODY = 1024  # addresses (at most 216 bytes for UNIX) and TLVs; far more is hostile


class ProxyHeaderError(Exception):
    """The bytes are not a PROXY header this listener accepts."""


@dataclass(frozen=True)
class ProxyHeader:
    """The client's address as the load balancer saw it (None: use the connection's own,
    for LOCAL, UNKNOWN, UNSPEC or UNIX)."""

    version: int
    source: tuple[str, int] | None


def _ip(text: str, family: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> str:
    try:
        return str(family(text))
    except ValueError:
        raise ProxyHeaderError(f"not an {family.__name__[:4]} address") from None


def _port(text: str) -> int:
    if not text.isdigit() or len(text) > 5 or (len(text) > 1 and text[0] == "0"):
        raise ProxyHeaderError("bad port")
    port = int(text)
    if port > 65535:
        raise ProxyHeaderError("bad port")
    return port


def parse_v1(line: bytes) -> ProxyHeader:
    """A whole v1 header, ``\\r\\n`` included."""
    if len(line) > _V1_MAX or not line.endswith(b"\r\n") or not line.startswith(b"PROXY "):
        raise ProxyHeaderError("not a PROXY v1 line")
    try:
        text = line[:-2].decode("ascii")
    except UnicodeDecodeError:
        raise ProxyHeaderError("PROXY v1 line is not ASCII") from None
    parts = text.split(" ")
    if len(parts) >= 2 and parts[1] == "UNKNOWN":
        return ProxyHeader(1, None)
    if len(parts) != 6:
        raise ProxyHeaderError("PROXY v1 needs protocol, two addresses and two ports")
    _, proto, src, dst, sport, dport = parts
    if proto == "TCP4":
        family: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address] = ipaddress.IPv4Address
    elif proto == "TCP6":
        family = ipaddress.IPv6Address
    else:
        raise ProxyHeaderError(f"PROXY v1 protocol {proto[:8]!r} is not TCP4, TCP6 or UNKNOWN")
    source = _ip(src, family)
    _ip(dst, family)
    _port(dport)
    return ProxyHeader(1, (source, _port(sport)))


def parse_v2(header: bytes, body: bytes) -> ProxyHeader:
    """A v2 header: its 16 fixed bytes and the ``length`` bytes after them."""
    if len(header) != 16 or header[:12] != V2_SIGNATURE:
        raise ProxyHeaderError("not a PROXY v2 header")
    version, command = header[12] >> 4, header[12] & 0x0F
    if version != 2:
        raise ProxyHeaderError(f"PROXY v2 version nibble {version}")
    if command not in (0, 1):
        raise ProxyHeaderError(f"PROXY v2 command {command}")
    family, transport = header[13] >> 4, header[13] & 0x0F
    (length,) = struct.unpack("!H", header[14:16])
    if length != len(body):
        raise ProxyHeaderError("PROXY v2 length does not match")
    if command == 0:  # LOCAL: the balancer's own connection (health check)
        return ProxyHeader(2, None)
    if transport not in (0, 1, 2) or family > 3:
        raise ProxyHeaderError("PROXY v2 unknown family or transport")
    if family == 1:  # AF_INET: 4 + 4 + 2 + 2
        if length < 12:
            raise ProxyHeaderError("PROXY v2 IPv4 block too short")
        src = str(ipaddress.IPv4Address(body[0:4]))
        (sport,) = struct.unpack("!H", body[8:10])
        return ProxyHeader(2, (src, sport))
    if family == 2:  # AF_INET6: 16 + 16 + 2 + 2
        if length < 36:
            raise ProxyHeaderError("PROXY v2 IPv6 block too short")
        src = str(ipaddress.IPv6Address(body[0:16]))
        (sport,) = struct.unpack("!H", body[32:34])
        return ProxyHeader(2, (src, sport))
    return ProxyHeader(2, None)  # UNSPEC or UNIX: no IP to go by


async def read_proxy_header(
    reader: asyncio.StreamReader, accept: Literal["v1", "v2", "any"]
) -> ProxyHeader:
    """Read one PROXY header of an ``accept``-ed version from ``reader`` (exactly its bytes)."""
    try:
        start = await reader.readexactly(6)
        if start == b"PROXY " and accept in ("v1", "any"):
            line = bytearray(start)
            # Byte by byte: never read past the header, never more than the spec's 107.
            while not line.endswith(b"\n"):
                if len(line) >= _V1_MAX:
                    raise ProxyHeaderError("PROXY v1 line longer than 107 bytes")
                line += await reader.readexactly(1)
            return parse_v1(bytes(line))
        if start == V2_SIGNATURE[:6] and accept in ("v2", "any"):
            fixed = start + await reader.readexactly(10)
            if fixed[:12] != V2_SIGNATURE:
                raise ProxyHeaderError("not a PROXY v2 header")
            (length,) = struct.unpack("!H", fixed[14:16])
            if length > _V2_MAX_BODY:
                raise ProxyHeaderError("PROXY v2 header too long")
            return parse_v2(fixed, await reader.readexactly(length))
    except asyncio.IncompleteReadError:
        raise ProxyHeaderError("connection closed inside the PROXY header") from None
    raise ProxyHeaderError(f"no PROXY header ({accept} expected)")
