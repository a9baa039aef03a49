"""The PROXY protocol header (HAProxy's proxy-protocol.txt, v1 §2.1, v2 §2.2) as a load
balancer in front of the SIP2 face sends it."""

from __future__ import annotations

import asyncio
import ipaddress
import struct

import pytest

from ils_gateway.sip2.proxy_protocol import (
    V2_SIGNATURE,
    ProxyHeader,
    ProxyHeaderError,
    parse_v1,
    read_proxy_header,
)


def v2(
    source: str, port: int, *, command: int = 1, family: int | None = None, tlv: bytes = b""
) -> bytes:
    """A v2 header for TCP from ``source:port`` to 192.0.2.1:6001 (or [2001:db8::1])."""
    ip = ipaddress.ip_address(source)
    if ip.version == 4:
        block = (
            ip.packed + ipaddress.ip_address("192.0.2.1").packed + struct.pack("!HH", port, 6001)
        )
        fam = 0x11
    else:
        block = ip.packed + ipaddress.ip_address("2001:db8::1").packed
        block += struct.pack("!HH", port, 6001)
        fam = 0x21
    body = block + tlv
    ver_cmd = 0x20 | command
    return (
        V2_SIGNATURE
        + bytes([ver_cmd, family if family is not None else fam])
        + struct.pack("!H", len(body))
        + body
    )


async def read(data: bytes, accept: str = "any") -> tuple[ProxyHeader, bytes]:
    """The header read from a stream holding ``data``, and what is left after it."""
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    header = await read_proxy_header(reader, accept)  # type: ignore[arg-type]
    return header, await reader.read()


@pytest.mark.parametrize(
    ("line", "source"),
    [
        (b"PROXY TCP4 10.1.2.3 192.0.2.1 56324 6001\r\n", ("10.1.2.3", 56324)),
        (b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 6001\r\n", ("2001:db8::7", 4000)),
        (b"PROXY UNKNOWN\r\n", None),
        (b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", None),
    ],
)
async def test_v1_names_the_client_and_leaves_the_sip2_bytes(
    line: bytes, source: tuple[str, int] | None
) -> None:
    header, rest = await read(line + b"9300CNsc|COpw|\r")
    assert header == ProxyHeader(1, source)
    assert rest == b"9300CNsc|COpw|\r"


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 10.1.2.3 192.0.2.1 56324\r\n",  # a port missing
        b"PROXY TCP4 10.1.2.300 192.0.2.1 56324 6001\r\n",  # not an address
        b"PROXY TCP4 2001:db8::7 192.0.2.1 1 2\r\n",  # v6 address under TCP4
        b"PROXY TCP4 10.1.2.3 192.0.2.1 065535 6001\r\n",  # leading zero
        b"PROXY TCP4 10.1.2.3 192.0.2.1 70000 6001\r\n",  # over 65535
        b"PROXY UDP4 10.1.2.3 192.0.2.1 1 2\r\n",
        b"PROXY TCP4 10.1.2.3 192.0.2.1 1 2\n",  # LF without CR
        b"PROXY " + b"A" * 120 + b"\r\n",  # longer than 107 bytes
    ],
)
async def test_a_bad_v1_line_is_refused(line: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        await read(line + b"9300\r")


async def test_v1_refuses_a_line_longer_than_107_bytes_without_reading_more() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"PROXY " + b"9" * 200)
    with pytest.raises(ProxyHeaderError, match="107"):
        await read_proxy_header(reader, "v1")
    assert len(await reader.read(1000)) == 206 - 107


async def test_v2_ipv4_ipv6_and_tlvs() -> None:
    header, rest = await read(v2("10.1.2.3", 40000) + b"99")
    assert header == ProxyHeader(2, ("10.1.2.3", 40000))
    assert rest == b"99"
    header, _ = await read(v2("2001:db8::9", 1234, tlv=b"\x04\x00\x01x"))
    assert header == ProxyHeader(2, ("2001:db8::9", 1234))


async def test_v2_local_and_unspec_keep_the_connection_address() -> None:
    assert (await read(v2("10.1.2.3", 1, command=0)))[0].source is None
    unspec = V2_SIGNATURE + b"\x21\x00\x00\x00"
    assert (await read(unspec + b"99"))[0] == ProxyHeader(2, None)


@pytest.mark.parametrize(
    "data",
    [
        V2_SIGNATURE[:-1] + b"X" + b"\x21\x11\x00\x0c" + bytes(12),  # signature
        V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12),  # version 1 nibble
        V2_SIGNATURE + b"\x22\x11\x00\x0c" + bytes(12),  # command 2
        V2_SIGNATURE + b"\x21\x11\x00\x04" + bytes(4),  # IPv4 block too short
        V2_SIGNATURE + b"\x21\x41\x00\x0c" + bytes(12),  # family 4
        V2_SIGNATURE + b"\x21\x11\x00\x0c" + bytes(5),  # closed inside the header
        V2_SIGNATURE + b"\x21\x11\xff\xff" + bytes(12),  # longer than any real header
    ],
)
async def test_a_bad_v2_header_is_refused(data: bytes) -> None:
    with pytest.raises(ProxyHeaderError):
        await read(data)


async def test_a_version_the_listener_does_not_accept_is_refused() -> None:
    with pytest.raises(ProxyHeaderError):
        await read(v2("10.1.2.3", 1), "v1")
    with pytest.raises(ProxyHeaderError):
        await read(b"PROXY UNKNOWN\r\n", "v2")
    with pytest.raises(ProxyHeaderError):
        await read(b"9300CNsc|COpw|\r")  # a machine talking SIP2 straight to a PROXY port


def test_parse_v1_wants_the_whole_line() -> None:
    with pytest.raises(ProxyHeaderError):
        parse_v1(b"PROXY TCP4 10.1.2.3 192.0.2.1 1 2")
