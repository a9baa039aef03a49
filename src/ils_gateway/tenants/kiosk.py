"""A tenant's SIP2 face for self-check machines: ``[tenants.kiosk_sip2]`` (tenant settings).

The gateway plays the ACS here: self-check machines log in (93) with one of ``logins`` and
speak SIP2 to ``host:port``. Passwords are ``SecretStr`` (never in reprs or logs). Framing
(encoding, terminator, error detection) must match what the machines are set to.
"""

from __future__ import annotations

import hmac
import ssl
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.tenants.terminal_policy import TerminalPolicy
from ils_gateway.tenants.terminal_reply import ReplyShaping

__all__ = ["KioskLogin", "KioskSip2Config", "KioskTls"]

_TERMINATORS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}
_BASES = {"bytes": ChecksumBasis.BYTES, "chars": ChecksumBasis.CHARACTERS}


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KioskLogin(_Config):
    """One self-check machine's 93 credentials (CN user, CO password)."""

    user: str = Field(min_length=1)
    password: SecretStr


class KioskTls(_Config):
    """The certificate the face presents (SIP2 sends patron passwords in clear without TLS)."""

    cert_file: Path
    key_file: Path

    def context(self) -> ssl.SSLContext:
        """The server SSL context."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


class KioskSip2Config(_Config):
    """How the tenant's self-check machines reach the gateway over SIP2."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(6011, ge=0, le=65535, description="0 picks a free port (tests)")
    tls: KioskTls | None = None
    logins: tuple[KioskLogin, ...] = Field(
        (), description="93 logins; empty: no login needed (trusted network only)"
    )
    institution_id: str = Field("", description="AO sent back to the machines")
    library_name: str | None = Field(None, description="AM of the 98; default: tenant name")
    encoding: Literal["utf-8", "cp932", "ascii", "latin-1"] = "utf-8"
    terminator: Literal["cr", "crlf", "lf"] = "cr"
    error_detection: bool = True
    checksum_basis: Literal["bytes", "chars"] = "bytes"
    timeout_period: int = Field(600, ge=0, le=999, description="98 timeout, tenths of a second")
    # Hostile-client limits (issue 15); the defaults are SIP2ServerSettings' (see there why).
    idle_timeout: float | None = Field(
        1800.0, gt=0, description="close connections silent this long between frames (s)"
    )
    frame_deadline: float | None = Field(
        30.0, gt=0, description="a frame begun must end within this many seconds (slowloris)"
    )
    max_connections: int | None = Field(200, ge=1, description="open connections at most")
    max_connections_per_address: int | None = Field(
        16, ge=1, description="open connections from one client address at most"
    )
    max_field_chars: int = Field(
        255, ge=1, le=4096, description="longest variable field of a request (SIP2: 255)"
    )
    log_frames: bool = Field(
        False,
        description="log every frame to and from the machines at info, redacted (passwords "
        "never, cards masked, items, titles and personal fields as lengths)",
    )
    screen_language: Literal["ja", "en"] | None = Field(
        None,
        description="language of screen messages (AF); default: the tenant's "
        "[tenants.language] default. A 23/63 asking for English (001) or Japanese (014) "
        "gets its answer in that language",
    )
    # Issue 21: the words and fields of the answers, and what a machine may lend; a terminal
    # profile may carry its own (kiosk.terminal_rules.resolve_rules).
    reply: ReplyShaping = Field(ReplyShaping(), description="answers' words and fields")
    policy: TerminalPolicy = Field(TerminalPolicy(), description="what a machine may lend")

    @model_validator(mode="after")
    def _unique_users(self) -> Self:
        users = [login.user for login in self.logins]
        if len(users) != len(set(users)):
            raise ValueError("kiosk_sip2.logins: a user is listed twice")
        return self

    def login_accepted(self, user: str, password: str) -> bool:
        """Whether ``user``/``password`` is one of the configured 93 logins."""
        if not self.logins:
            return True
        for login in self.logins:
            expected = login.password.get_secret_value().encode()
            if login.user == user and hmac.compare_digest(expected, password.encode()):
                return True
        return False

    @property
    def codec(self) -> CodecSettings:
        """The framing the machines use."""
        return CodecSettings(
            encoding=self.encoding,
            error_detection=self.error_detection,
            checksum_basis=_BASES[self.checksum_basis],
            terminator=_TERMINATORS[self.terminator],
            # Titles or names the encoding cannot write get a replacement mark, not a failure;
            # so do list entries, which are titles where a hold has no copy (kiosk.face).
            text_errors="replace",
            free_text_fields=_LIST_FIELDS,
        )


_LIST_FIELDS = frozenset({"AS", "AT", "AU", "CD"})
