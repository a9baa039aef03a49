"""A real SMTP server (aiosmtpd) on the test's own event loop, recording what it received.

No thread and no sleep: the server is an ``asyncio`` server of the running loop, so a send
finishes when the server has answered. ``fail_with`` makes the next DATA (or RCPT) answers an
error, to test retries; ``tls_pair()`` makes a throwaway certificate for STARTTLS/SMTPS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        body = self.message.get_content()
        assert isinstance(body, str)
        return body.replace("\r\n", "\n")


@dataclass
class Catcher:
    """The aiosmtpd handler: keeps messages, fails on demand."""

    received: list[Received] = field(default_factory=list)
    data_failures: list[str] = field(default_factory=list)  # next DATA replies, in order
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> RCPT reply
    logins: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set at each message
    sessions: list[SMTP] = field(default_factory=list)  # one per connection accepted

    def fail_with(self, *replies: str) -> None:
        self.data_failures.extend(replies)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_failures:
            return self.data_failures.pop(0)
        raw = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        self.arrived.set()
        return "250 OK queued"


class Authenticator:
    def __init__(self, user: str, password: str, catcher: Catcher) -> None:
        self.user, self.password, self.catcher = user, password, catcher

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        if ok:
            self.catcher.logins.append(self.user)
        return AuthResult(success=ok, handled=False)


async def start_smtpd(
    catcher: Catcher,
    *,
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    auth: tuple[str, str] | None = None,
) -> tuple[asyncio.Server, int]:
    """An SMTP server on 127.0.0.1 (a free port) on the running loop: plain, STARTTLS
    (``tls`` given) or SMTPS (``implicit_tls``), with AUTH when ``auth`` is given."""
    kwargs: dict[str, Any] = {"hostname": "smtp.test", "ident": "test smtpd"}
    if tls is not None and not implicit_tls:
        kwargs.update(tls_context=tls, require_starttls=True)
    if auth is not None:
        kwargs.update(
            authenticator=Authenticator(*auth, catcher),
            auth_required=True,
            auth_require_tls=tls is not None,
        )
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        session = SMTP(catcher, **kwargs)
        catcher.sessions.append(session)
        return session

    server = await loop.create_server(
        protocol,
        "127.0.0.1",
        0,
        ssl=tls if implicit_tls else None,
    )
    return server, server.sockets[0].getsockname()[1]


def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a throwaway 127.0.0.1 certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
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
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client
