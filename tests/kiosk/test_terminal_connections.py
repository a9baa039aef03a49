"""Terminal profiles and listeners over real TCP (issue 21): every knob as a machine meets it.

The gateway's face runs on the SIP2 simulator's library (``kiosk_support.running``); the
machine is a raw socket speaking bytes, so that each frame's terminator, encoding and AY/AZ
are checked exactly as they went over the wire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import structlog
from kiosk_support import CARD, FREE, PASSWORD, SC_PASSWORD, SC_USER, Clock, Setup, running

from ils_gateway.observability import metrics
from ils_gateway.sip2.checksum import checksum_of_bytes
from ils_gateway.sip2.codec import CodecSettings, parse
from ils_gateway.sip2.proxy_protocol import V2_SIGNATURE

D = "20260110    100000"
LOGIN = f"9300CN{SC_USER}|CO{SC_PASSWORD}|"
STATUS = "9900302.00"
PATRON = f"23014{D}AOTEST|AA{CARD}|ACx|AD{PASSWORD}|"
CHECKOUT = f"11NN{D}{D}AOTEST|AA{CARD}|AB{FREE}|ACx|AD{PASSWORD}|"
NAME = "山田 花子"


def frame(body: str, *, encoding: str = "utf-8", seq: int | None = 0, end: bytes = b"\r") -> bytes:
    """A request as a machine writes it (AY/AZ unless ``seq`` is None)."""
    data = body.encode(encoding)
    if seq is not None:
        data += f"AY{seq}AZ".encode()
        data += checksum_of_bytes(data).encode()
    return data + end


class Machine:
    """A raw connection to one of the face's ports."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes, end: bytes = b"\r") -> bytes:
        """Write ``data``; the answer up to and including ``end`` (its body has no CR/LF, so
        the face ended it with exactly ``end``)."""
        self.writer.write(data)
        await self.writer.drain()
        async with asyncio.timeout(20):
            answer = await self.reader.readuntil(end)
        body = answer[: -len(end)]
        assert b"\r" not in body and b"\n" not in body, answer
        return body

    async def closed(self) -> bool:
        """Whether the face closes the connection (without writing anything first)."""
        async with asyncio.timeout(20):
            try:
                return await self.reader.read(65536) == b""
            except ConnectionResetError:  # closed with our bytes unread: a reset
                return True


@asynccontextmanager
async def connect(
    port: int, *, preamble: bytes = b"", tls: ssl.SSLContext | None = None
) -> AsyncIterator[Machine]:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=tls, server_hostname="localhost" if tls else None
    )
    if preamble:
        writer.write(preamble)
    try:
        yield Machine(reader, writer)
    finally:
        writer.close()


def ports(setup: Setup) -> list[int]:
    """The face's own port, then each listener's, in file order."""
    assert setup.faces is not None
    return [server.port for server in setup.faces.listeners["testlib"]]


def decoded(answer: bytes, encoding: str, detection: bool = True):  # type: ignore[no-untyped-def]
    return parse(answer, CodecSettings(encoding=encoding, error_detection=detection))


def counted(family: str, *labels: str) -> float:
    return float(metrics._child(family, *labels)._value.get())


# --- framing per listener -------------------------------------------------------------------


async def test_a_listener_profile_frames_its_machines_and_the_own_port_keeps_the_default() -> None:
    kiosk = """
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "japanese-crlf"
[[tenants.kiosk_sip2.profiles]]
name = "japanese-crlf"
terminator = "crlf"
encoding = "shift_jis"
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        own, sjis = ports(setup)
        async with connect(sjis) as machine:
            assert (await machine.send(frame(LOGIN, end=b"\r\n"), b"\r\n")).startswith(b"941AY0AZ")
            answer = await machine.send(frame(PATRON, encoding="cp932", end=b"\r\n"), b"\r\n")
            assert decoded(answer, "cp932").get("AE") == NAME
        async with connect(own) as machine:
            await machine.send(frame(LOGIN))
            answer = await machine.send(frame(PATRON))
            assert decoded(answer, "utf-8").get("AE") == NAME


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("euc-jp", NAME), ("cp850", "?? ??"), ("ascii", "?? ??"), ("utf-8", NAME)],
)
async def test_each_encoding_and_unwritable_names_are_replaced_never_a_failure(
    encoding: str, name: str
) -> None:
    kiosk = f"""
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "p"
[[tenants.kiosk_sip2.profiles]]
name = "p"
encoding = "{encoding}"
terminator = "lf"
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        async with connect(ports(setup)[1]) as machine:
            await machine.send(frame(LOGIN, end=b"\n"), b"\n")
            answer = await machine.send(frame(PATRON, encoding=encoding, end=b"\n"), b"\n")
    python = {"euc-jp": "euc_jp"}.get(encoding, encoding)
    assert decoded(answer, python).get("AE") == name


async def test_error_detection_off_on_and_mirrored_per_message() -> None:
    kiosk = """
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "off"
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "mirror"
[[tenants.kiosk_sip2.profiles]]
name = "off"
error_detection = "off"
[[tenants.kiosk_sip2.profiles]]
name = "mirror"
error_detection = "mirror"
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        on, off, mirror = ports(setup)
        async with connect(off) as machine:
            assert await machine.send(frame(LOGIN, seq=None)) == b"941"
            assert (await machine.send(frame(STATUS, seq=None))).startswith(b"98")
            assert b"AZ" not in await machine.send(frame(STATUS, seq=None))
        async with connect(mirror) as machine:
            assert await machine.send(frame(LOGIN, seq=None)) == b"941"
            with_az = await machine.send(frame(STATUS, seq=3))
            assert b"|AY3AZ" in with_az
            assert b"AZ" not in await machine.send(frame(STATUS, seq=None))
            bad = frame(STATUS, seq=4)[:-3] + b"00\r"  # a wrong checksum is still checked
            assert (await machine.send(bad)).startswith(b"96")
        async with connect(on) as machine:
            assert (await machine.send(frame(LOGIN))).startswith(b"941")
            assert (await machine.send(frame(STATUS, seq=None))).startswith(b"96")


async def test_the_checksum_basis_follows_the_profile() -> None:
    kiosk = """
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "chars"
[[tenants.kiosk_sip2.profiles]]
name = "chars"
checksum_basis = "chars"
"""
    request = f"23014{D}AOTEST|AA{CARD}|AC|AD{PASSWORD}|AY1AZ"
    by_chars = f"{-sum(map(ord, request)) & 0xFFFF:04X}"
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        async with connect(ports(setup)[1]) as machine:
            await machine.send(frame(LOGIN))
            # ASCII frames sum alike either way; the name in the answer is not ASCII.
            answer = await machine.send((request + by_chars + "\r").encode())
    text = answer.decode()
    assert f"{-sum(map(ord, text[:-4])) & 0xFFFF:04X}" == text[-4:]
    assert checksum_of_bytes(answer[:-4]) != text[-4:]


# --- allowed messages -----------------------------------------------------------------------


async def test_a_message_the_profile_does_not_allow_is_refused_and_left_out_of_bx() -> None:
    kiosk = """
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "gate"
[[tenants.kiosk_sip2.profiles]]
name = "gate"
allowed_messages = ["23", "63", "17"]
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        own, gate = ports(setup)
        before = counted("kiosk_messages", "testlib", "11", "disallowed")
        answered = counted("kiosk_messages", "testlib", "23", "ok")
        async with connect(gate) as machine:
            await machine.send(frame(LOGIN))
            bx = decoded(await machine.send(frame(STATUS)), "utf-8").get("BX")
            refused = decoded(await machine.send(frame(CHECKOUT, seq=1)), "utf-8")
            await machine.send(frame(PATRON, seq=2))
        async with connect(own) as machine:
            await machine.send(frame(LOGIN))
            own_bx = decoded(await machine.send(frame(STATUS)), "utf-8").get("BX")
        assert setup.sim.data.items[1].status.name != "CHECKED_OUT"  # nothing lent
    assert own_bx[1] == "Y" and bx[1] == "N"  # checkout
    assert bx[0] == "Y" and bx[7] == "Y" and bx[6] == "Y"  # 23, 63 allowed; 93 always
    assert refused.code == "12" and refused.ok is False
    assert refused.screen_messages == ["この機械ではご利用いただけません"]
    assert counted("kiosk_messages", "testlib", "11", "disallowed") == before + 1
    assert counted("kiosk_messages", "testlib", "23", "ok") == answered + 1


# --- timeouts -------------------------------------------------------------------------------


async def test_login_and_idle_timeouts_close_the_connection() -> None:
    kiosk = """
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "hasty"
[[tenants.kiosk_sip2.profiles]]
name = "hasty"
login_timeout = 0.05
idle_timeout = 0.05
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        port = ports(setup)[1]
        with structlog.testing.capture_logs() as events:
            async with connect(port) as machine:
                assert await machine.closed()
            async with connect(port) as machine:
                await machine.send(frame(LOGIN))
                assert await machine.closed()
    kinds = [e["event"] for e in events if e["event"].startswith("sip2.server.")]
    assert "sip2.server.login_timeout" in kinds and "sip2.server.idle_timeout" in kinds


# --- profiles chosen at login ---------------------------------------------------------------


async def test_a_profile_by_location_code_or_login_prefix_applies_from_the_94() -> None:
    kiosk = """
[[tenants.kiosk_sip2.profiles]]
name = "west-branch"
locations = ["WEST"]
terminator = "lf"
error_detection = "off"
[[tenants.kiosk_sip2.profiles]]
name = "selfcheck-accounts"
login_prefixes = ["sc"]
terminator = "crlf"
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        async with connect(setup.port) as machine:
            # No AZ: its profile has error detection off, and the 93 is read as sent.
            assert await machine.send(frame(LOGIN + "CPWEST|", seq=None), b"\n") == b"941"
            assert (await machine.send(frame(STATUS, seq=None, end=b"\n"), b"\n")).startswith(b"98")
        async with connect(setup.port) as machine:
            assert (await machine.send(frame(LOGIN + "CPEAST|"), b"\r\n")).startswith(b"941")


# --- terminal accounts by subnet, PROXY protocol ----------------------------------------------


def v1(source: str) -> bytes:
    return f"PROXY TCP4 {source} 127.0.0.1 40000 6011\r\n".encode()


def v2(source: str) -> bytes:
    body = ipaddress.ip_address(source).packed + bytes([127, 0, 0, 1]) + struct.pack("!HH", 1, 2)
    return V2_SIGNATURE + b"\x21\x11" + struct.pack("!H", len(body)) + body


PROXIED = """
[[tenants.kiosk_sip2.listeners]]
name = "lb-v1"
port = 0
proxy_protocol = "v1"
trusted_proxies = ["127.0.0.1"]
[[tenants.kiosk_sip2.listeners]]
name = "lb-v2"
port = 0
proxy_protocol = "v2"
trusted_proxies = ["127.0.0.0/8"]
[[tenants.kiosk_sip2.listeners]]
name = "lb-elsewhere"
port = 0
proxy_protocol = "any"
trusted_proxies = ["10.9.9.9"]
[[tenants.kiosk_sip2.profiles]]
name = "branch-lab"
addresses = ["10.1.2.0/24"]
terminator = "crlf"
"""


@pytest.mark.parametrize("header", [v1, v2], ids=["v1", "v2"])
async def test_behind_a_load_balancer_the_proxy_header_names_the_machine(header) -> None:  # type: ignore[no-untyped-def]
    index = 1 if header is v1 else 2
    async with running(
        "sip2", Clock(), kiosk=PROXIED, login_subnets=["127.0.0.0/8", "10.1.2.0/24"]
    ) as setup:
        port = ports(setup)[index]
        before = counted("kiosk_errors", "testlib", "login_outside_subnet")
        with structlog.testing.capture_logs() as events:
            # 10.1.2.3: the lab's profile (CRLF) and an address the account may log in from.
            async with connect(port, preamble=header("10.1.2.3")) as machine:
                assert (await machine.send(frame(LOGIN), b"\r\n")).startswith(b"941")
                answer = await machine.send(frame(PATRON), b"\r\n")
                assert decoded(answer, "utf-8").get("AE") == NAME
            # 192.0.2.7: outside the account's subnets: refused before the password.
            async with connect(port, preamble=header("192.0.2.7")) as machine:
                assert (await machine.send(frame(LOGIN))).startswith(b"940")
    connected = [e for e in events if e["event"] == "sip2.server.connected"]
    assert [e["peer"].rpartition(":")[0] for e in connected] == ["10.1.2.3", "192.0.2.7"]
    assert {e["proxied_by"] for e in connected} == {"127.0.0.1"}
    outside = [e for e in events if e["event"] == "kiosk.login_outside_subnet"]
    assert [(e["user"], e["address"]) for e in outside] == [(SC_USER, "192.0.2.7")]
    assert counted("kiosk_errors", "testlib", "login_outside_subnet") == before + 1


async def test_a_proxy_header_from_an_untrusted_peer_or_none_at_all_closes_the_connection() -> None:
    async with running("sip2", Clock(), kiosk=PROXIED) as setup:
        _own, lb_v1, lb_v2, elsewhere = ports(setup)
        before = counted("kiosk_errors", "testlib", "proxy_refused")
        async with connect(elsewhere, preamble=v1("10.1.2.3")) as machine:
            assert await machine.closed()  # 127.0.0.1 is not the trusted balancer
        async with connect(lb_v1, preamble=frame(LOGIN)) as machine:
            assert await machine.closed()  # SIP2 straight to a PROXY port
        async with connect(lb_v2, preamble=v1("10.1.2.3")) as machine:
            assert await machine.closed()  # v1 where v2 is expected
        assert counted("kiosk_errors", "testlib", "proxy_refused") == before + 3


# --- TLS ------------------------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 and its key, made here (``cryptography``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "kiosk.crt", directory / "kiosk.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_a_tls_listener_serves_machines_that_trust_its_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    kiosk = f"""
[[tenants.kiosk_sip2.listeners]]
name = "tls"
port = 0
tls = {{ cert_file = "{cert}", key_file = "{key}" }}
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        port = ports(setup)[1]
        trusting = ssl.create_default_context(cafile=str(cert))
        async with connect(port, tls=trusting) as machine:
            assert (await machine.send(frame(LOGIN))).startswith(b"941")
            answer = await machine.send(frame(PATRON))
            assert decoded(answer, "utf-8").get("AE") == NAME
        with pytest.raises(ssl.SSLError):  # a machine that does not trust it gets nothing
            async with connect(port, tls=ssl.create_default_context()) as machine:
                await machine.send(frame(LOGIN))


# --- bad frames -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (frame(STATUS)[:-5] + b"0000\r", "utf-8"),  # bad checksum
        (frame("XX0030"), "utf-8"),  # unknown message
        (b"23014" + D.encode() + b"AOTEST|AA\xff\xfe|AD1|AY1AZ", "utf-8"),  # undecodable card
        (b"23014" + D.encode() + b"AOTEST|AA1\x81 x|AD1|AY1AZ", "cp932"),  # bad CP932 trail byte
    ],
    ids=["checksum", "unknown", "undecodable-utf8", "undecodable-cp932"],
)
async def test_a_bad_frame_is_answered_with_96_in_the_machines_framing(
    data: bytes, encoding: str
) -> None:
    if data.endswith(b"AZ"):
        data += checksum_of_bytes(data).encode() + b"\r"
    kiosk = f"""
[[tenants.kiosk_sip2.listeners]]
port = 0
profile = "p"
[[tenants.kiosk_sip2.profiles]]
name = "p"
encoding = "{encoding}"
terminator = "crlf"
"""
    async with running("sip2", Clock(), kiosk=kiosk) as setup:
        before = counted("kiosk_errors", "testlib", "bad_frame")
        async with connect(ports(setup)[1]) as machine:
            await machine.send(frame(LOGIN, end=b"\r\n"), b"\r\n")
            answer = await machine.send(data, b"\r\n")
            # The connection goes on: the machine resends, the face answers.
            again = await machine.send(frame(STATUS, seq=2, end=b"\r\n"), b"\r\n")
        assert counted("kiosk_errors", "testlib", "bad_frame") == before + 1
    assert answer == b"96AZFEF6"
    assert again.startswith(b"98")
