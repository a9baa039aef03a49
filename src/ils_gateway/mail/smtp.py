"""Sending one message over SMTP with aiosmtplib: plain, STARTTLS or TLS, with or without AUTH.

``SmtpServer`` is where a tenant's mail goes: its ``[tenants.mail.smtp]`` table (password from
the environment variable it names), else the server's ``smtp_url`` setting:

- ``smtp://[user:password@]host[:port]``: no TLS (a relay on the same host or network, or
  Mailpit in the compose stack); port 25 by default;
- ``smtp+starttls://…``: STARTTLS required (port 587 by default);
- ``smtps://…``: TLS from the first byte (SMTPS, port 465 by default).

``send`` raises ``SendFailed`` with ``permanent`` True when retrying cannot help (every
recipient refused with a 5xx, the message refused with a 5xx) and False otherwise (the server
unreachable, a timeout, a 4xx, an authentication or TLS failure: these are fixed by waiting or
by the operator, and the mail is tried again).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from ils_gateway.tenants.mail import MailSecurity, SmtpConfig

if TYPE_CHECKING:
    from aiosmtplib import SMTP

__all__ = ["SendFailed", "SmtpServer", "SmtpSessions", "Transport", "send", "server_for"]

_SCHEMES: dict[str, MailSecurity] = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}
_PORTS: dict[MailSecurity, int] = {"none": 25, "starttls": 587, "tls": 465}


class SendFailed(Exception):
    """A message was not accepted; ``permanent``: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server and how to talk to it."""

    host: str
    port: int
    security: MailSecurity = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    #: Trust for the server's certificate (default: the system's CAs); tests pass their own.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> SmtpServer:
        """A server from ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL; ``ValueError``
        naming what is wrong (never echoing a password)."""
        parts = urlsplit(url)
        security = _SCHEMES.get(parts.scheme.lower())
        if security is None:
            raise ValueError(
                f"SMTP URL scheme {parts.scheme!r}: use smtp://, smtp+starttls:// or smtps://"
            )
        if not parts.hostname:
            raise ValueError("SMTP URL without a host")
        try:
            port = parts.port or _PORTS[security]
        except ValueError:
            raise ValueError("SMTP URL with a bad port") from None
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )

    @classmethod
    def from_config(cls, config: SmtpConfig) -> SmtpServer:
        """A tenant's ``[tenants.mail.smtp]``; ``LookupError`` when its ``password_env`` is not
        set in the environment."""
        password = None
        if config.password_env is not None:
            password = os.environ.get(config.password_env)
            if password is None:
                raise LookupError(f"environment variable {config.password_env} is not set")
        return cls(
            host=config.host,
            port=config.effective_port,
            security=config.security,
            username=config.username,
            password=password,
            timeout=config.timeout,
        )

    def describe(self) -> str:
        """``host:port (security, user)`` for logs, without the password."""
        user = f", user {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({self.security}{user})"


def server_for(config: SmtpConfig | None, default: SmtpServer | None) -> SmtpServer | None:
    """The server a tenant's mail goes through: its own, else ``default`` (None: none)."""
    if config is not None:
        return SmtpServer.from_config(config)
    return default


class Transport(Protocol):
    """Sends one message (``send`` below; tests may pass another)."""

    async def __call__(
        self, server: SmtpServer, message: EmailMessage, sender: str, recipients: Sequence[str]
    ) -> list[str]: ...


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _client(server: SmtpServer) -> SMTP:
    import aiosmtplib  # here: a gateway that never sends mail does not load it

    return aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.security == "tls",
        start_tls=server.security == "starttls",
        tls_context=server.tls_context,
        timeout=server.timeout,
    )


def _failure(exc: BaseException, server: SmtpServer) -> SendFailed | None:
    """``exc`` as a ``SendFailed`` (None: not an SMTP or network failure)."""
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [error.code for error in exc.recipients]
        permanent = bool(codes) and all(_permanent(code) for code in codes)
        detail = "; ".join(f"{e.code} {e.message}" for e in exc.recipients)
        return SendFailed(f"every recipient refused: {detail}", permanent=permanent)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SendFailed(
            f"SMTP authentication failed at {server.describe()}: {exc.code} {exc.message}",
            permanent=False,
        )
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return SendFailed(
            f"message refused: {exc.code} {exc.message}", permanent=_permanent(exc.code)
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SendFailed(f"SMTP error {exc.code} {exc.message}", permanent=False)
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        return SendFailed(
            f"SMTP server {server.describe()}: {type(exc).__name__}: {exc}", permanent=False
        )
    return None


async def send(
    server: SmtpServer, message: EmailMessage, sender: str, recipients: Sequence[str]
) -> list[str]:
    """Send ``message`` to ``recipients`` (envelope sender ``sender``) on a connection of its
    own; returns the recipients the server refused while accepting the others. ``SendFailed``
    when nothing was accepted."""
    client = _client(server)
    try:
        async with client:
            refused, _reply = await client.send_message(
                message, sender=sender, recipients=list(recipients)
            )
    except Exception as exc:
        failure = _failure(exc, server)
        if failure is None:
            raise
        raise failure from None
    return sorted(refused)


class SmtpSessions:
    """A ``Transport`` that keeps one connection per SMTP server open across sends (a drain
    run sends a batch over one connection instead of one each); ``aclose`` when done.

    Any failure closes that server's connection (the next send opens a new one); a connection
    the server dropped while idle is reopened and the message sent again at once."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, int, str, str | None], SMTP] = {}
        self.connections = 0  # opened so far (tests, logs)

    async def __call__(
        self, server: SmtpServer, message: EmailMessage, sender: str, recipients: Sequence[str]
    ) -> list[str]:
        import aiosmtplib

        key = (server.host, server.port, server.security, server.username)
        for fresh_try in (False, True):
            client = self._clients.get(key)
            if client is None or not client.is_connected or fresh_try:
                client = None
            reused = client is not None
            try:
                if client is None:
                    await self._drop(key)
                    client = _client(server)
                    self.connections += 1
                    await client.connect()
                    self._clients[key] = client
                refused, _reply = await client.send_message(
                    message, sender=sender, recipients=list(recipients)
                )
                return sorted(refused)
            except Exception as exc:
                await self._drop(key)
                if reused and isinstance(exc, aiosmtplib.SMTPServerDisconnected):
                    continue  # dropped while idle: once more on a new connection
                failure = _failure(exc, server)
                if failure is None:
                    raise
                raise failure from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _drop(self, key: tuple[str, int, str, str | None]) -> None:
        client = self._clients.pop(key, None)
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Say QUIT to every open connection (or just close it)."""
        for key, client in list(self._clients.items()):
            del self._clients[key]
            try:
                if client.is_connected:
                    await client.quit()
            except Exception:
                client.close()
