"""Terminal profiles and listeners of a tenant's SIP2 face (``[tenants.kiosk_sip2]``).

Self-check machines from different vendors frame SIP2 differently (CR or CRLF, Shift_JIS or
UTF-8, with or without AY/AZ). A ``TerminalProfile`` says how one kind of machine speaks and
which machines it applies to; ``[[tenants.kiosk_sip2.profiles]]`` lists them in the order they
are tried:

- ``addresses`` (addresses or subnets) and ``ports`` (the listening port the machine reached)
  are known when the machine connects; ``locations`` (the 93's CP) and ``login_prefixes``
  (the start of its CN) when it logs in. A profile matches when every key it sets matches
  (a key lists alternatives). The first match in file order wins; a profile with login keys
  is chosen at the 93 and applies from the 94 on.
- A machine no profile matches gets its listener's ``profile``, else the tenant's defaults
  (the framing keys of ``[tenants.kiosk_sip2]`` itself: ``default_profile``).
- A knob a profile leaves out is the tenant's default.

``[[tenants.kiosk_sip2.listeners]]`` are ports the face listens on besides ``host:port``, each
with its own TLS certificate, PROXY protocol (v1, v2, or either, from trusted load balancers
only) and profile. Nothing here does I/O: ``kiosk.terminals`` applies these settings.
"""

from __future__ import annotations

import codecs
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator, model_validator

from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.sip2.fields import SUPPORTED_MESSAGE_ORDER
from ils_gateway.sip2.networks import covers
from ils_gateway.tenants.terminal_policy import TerminalPolicy
from ils_gateway.tenants.terminal_reply import ReplyShaping

__all__ = [
    "ALWAYS_ALLOWED",
    "ENCODINGS",
    "ErrorDetection",
    "KioskListener",
    "KioskTls",
    "ProxyProtocol",
    "TerminalProfile",
    "Terminator",
    "codec_for",
    "covers",
    "known_encoding",
    "select_profile",
]

Terminator = Literal["cr", "crlf", "lf"]
ErrorDetection = Literal["off", "on", "mirror"]
ProxyProtocol = Literal["off", "v1", "v2", "any"]

# Encodings a profile may name → the Python codec. Machines labelled Shift_JIS really send
# CP932 (Microsoft's Shift_JIS: ～, ①, 髙 …), which strict shift_jis rejects (sip2.md).
ENCODINGS: dict[str, str] = {
    "utf-8": "utf-8",
    "cp932": "cp932",
    "shift_jis": "cp932",
    "euc-jp": "euc-jp",
    "cp850": "cp850",
    "ascii": "ascii",
    "latin-1": "latin-1",
}
_ALIASES = {"utf8": "utf-8", "shift-jis": "shift_jis", "sjis": "shift_jis", "eucjp": "euc-jp",
            "euc_jp": "euc-jp", "latin1": "latin-1", "us-ascii": "ascii"}  # fmt: skip
_TERMINATORS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}
_BASES = {"bytes": ChecksumBasis.BYTES, "chars": ChecksumBasis.CHARACTERS}
# Free text on the face's answers besides the codec's own (list entries may be titles).
_LIST_FIELDS = frozenset({"AS", "AT", "AU", "CD"})

ALWAYS_ALLOWED = frozenset({"93", "99", "97", "35"})
"""Requests every machine may send: login, status, resend, end session (no refusal shape)."""
_REQUEST_CODES = frozenset(SUPPORTED_MESSAGE_ORDER) | {"63"}


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def known_encoding(value: str | None) -> str | None:
    """The encoding name a profile may give, normalised (``shift_jis``, ``utf8`` …), or a
    ValueError naming the choices."""
    if value is None:
        return None
    name = value.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in ENCODINGS:
        raise ValueError(f"unknown encoding {value!r} (one of: {', '.join(ENCODINGS)})")
    codecs.lookup(ENCODINGS[name])
    return name


class TerminalProfile(_Config):
    """How one kind of self-check machine speaks SIP2, and which machines it applies to."""

    name: str = Field(min_length=1, max_length=64)
    # --- which machines (every key set must match; each lists alternatives) -----------
    addresses: tuple[IPvAnyNetwork, ...] = Field(
        (), description="client addresses or subnets (10.1.2.0/24, 192.0.2.7)"
    )
    ports: tuple[int, ...] = Field((), description="listening ports the machine connects to")
    locations: tuple[str, ...] = Field((), description="the 93's location code (CP)")
    login_prefixes: tuple[str, ...] = Field((), description="start of the 93's login (CN)")
    # --- how they speak (left out: the tenant's [tenants.kiosk_sip2] value) --------------
    terminator: Terminator | None = None
    encoding: str | None = Field(
        None, description="utf-8, cp932 (= shift_jis), euc-jp, cp850, ascii, latin-1"
    )
    error_detection: ErrorDetection | None = Field(
        None,
        description="off: no AY/AZ; on: AZ required and checked; mirror: per message, as the "
        "machine sent it (a frame with AZ is checked and answered with AY/AZ, one without is "
        "answered without)",
    )
    checksum_basis: Literal["bytes", "chars"] | None = None
    idle_timeout: float | None = Field(
        None, ge=0, description="close a connection silent this long (s); 0: never"
    )
    login_timeout: float | None = Field(
        None, ge=0, description="a connection must log in (93) within this many seconds; 0: never"
    )
    allowed_messages: tuple[str, ...] | None = Field(
        None,
        description="request codes the machine may send (93, 99, 97 and 35 always); others "
        "are refused with the request's refusal answer and left out of the 98's BX",
    )
    # --- what the answers say and what the machine may lend (left out: the tenant's
    # [tenants.kiosk_sip2.reply] / .policy, each replaced whole: kiosk.terminal_rules) ------
    reply: ReplyShaping | None = Field(None, description="this machine's reply shaping")
    policy: TerminalPolicy | None = Field(None, description="this machine's lending policy")

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        return known_encoding(value)

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is not 1 to 65535")
        return value

    @field_validator("allowed_messages")
    @classmethod
    def _messages(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        for code in value:
            if code not in _REQUEST_CODES:
                raise ValueError(
                    f"{code!r} is not a SIP2 request code a machine sends "
                    f"({', '.join(sorted(_REQUEST_CODES))})"
                )
        return value

    @property
    def needs_login(self) -> bool:
        """Whether matching needs the 93 (location code or login name)."""
        return bool(self.locations or self.login_prefixes)

    @property
    def matches_anyone(self) -> bool:
        """A profile with no match key: only a listener's ``profile`` can name it."""
        return not (self.addresses or self.ports or self.needs_login)

    def matches(
        self, address: str, port: int | None, location: str | None, user: str | None
    ) -> bool:
        """Whether a machine at ``address`` on listening ``port`` (with this CP and CN, once
        logged in; None before) is one of this profile's."""
        if self.matches_anyone:
            return False
        if self.addresses and not covers(self.addresses, address):
            return False
        if self.ports and port not in self.ports:
            return False
        if self.locations and (location is None or location not in self.locations):
            return False
        return not self.login_prefixes or (
            user is not None and any(user.startswith(p) for p in self.login_prefixes)
        )

    def over(self, base: TerminalProfile) -> TerminalProfile:
        """This profile with every knob it leaves out taken from ``base``."""
        knobs = {key: getattr(base, key) for key in _KNOBS if getattr(self, key) is None}
        return self.model_copy(update=knobs)


_KNOBS = (
    "terminator",
    "encoding",
    "error_detection",
    "checksum_basis",
    "idle_timeout",
    "login_timeout",
    "allowed_messages",
    "reply",
    "policy",
)


def select_profile(
    profiles: Sequence[TerminalProfile],
    fallback: TerminalProfile,
    *,
    address: str,
    port: int | None,
    location: str | None = None,
    user: str | None = None,
) -> TerminalProfile:
    """The first of ``profiles`` that matches the machine, else ``fallback``; with every knob
    it leaves out taken from ``fallback``. Before the 93 (``user`` None) profiles that match
    on the login are skipped."""
    for profile in profiles:
        if profile.needs_login and user is None:
            continue
        if profile.matches(address, port, location, user):
            return profile.over(fallback)
    return fallback


def codec_for(profile: TerminalProfile) -> CodecSettings:
    """The codec settings of a resolved profile (every framing knob set). Characters the
    encoding cannot write in free text become 〓 (or ?), never a failure."""
    detection = profile.error_detection or "on"
    return CodecSettings(
        encoding=ENCODINGS[profile.encoding or "utf-8"],
        error_detection=detection != "off",
        require_checksum=detection == "on",
        checksum_basis=_BASES[profile.checksum_basis or "bytes"],
        terminator=_TERMINATORS[profile.terminator or "cr"],
        text_errors="replace",
        free_text_fields=_LIST_FIELDS,
    )


class KioskTls(_Config):
    """The certificate a listener presents (SIP2 sends patron passwords in clear without TLS)."""

    cert_file: Path
    key_file: Path

    def context(self) -> ssl.SSLContext:
        """The server SSL context."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


class KioskListener(_Config):
    """One more port the face listens on (``[[tenants.kiosk_sip2.listeners]]``)."""

    name: str | None = Field(None, max_length=64, description="for logs and metrics")
    host: str | None = Field(None, description="default: the face's host")
    port: int = Field(ge=0, le=65535, description="0 picks a free port (tests)")
    tls: KioskTls | None = None
    proxy_protocol: ProxyProtocol = Field(
        "off",
        description="a load balancer in front sends a PROXY header (v1 text, v2 binary, or "
        "either) naming the machine's address; only from trusted_proxies",
    )
    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        (), description="addresses or subnets of the load balancers allowed to send it"
    )
    profile: str | None = Field(
        None, description="the profile of machines on this port that no profile matches"
    )

    @model_validator(mode="after")
    def _proxies_named(self) -> Self:
        if self.proxy_protocol != "off" and not self.trusted_proxies:
            raise ValueError("proxy_protocol needs trusted_proxies (the load balancers)")
        if self.proxy_protocol == "off" and self.trusted_proxies:
            raise ValueError("trusted_proxies is set but proxy_protocol is off")
        if self.proxy_protocol != "off" and self.tls is not None:
            # The PROXY header precedes the TLS handshake: asyncio's start_tls would lose the
            # handshake bytes read with the header. Terminate TLS at the load balancer.
            raise ValueError(
                "tls with proxy_protocol is not supported: terminate TLS at the load balancer"
            )
        return self
