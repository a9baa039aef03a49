"""A tenant's SIP2 face for self-check machines: ``[tenants.kiosk_sip2]`` (tenant settings).

The gateway plays the ACS here: self-check machines log in (93) with one of ``logins`` and
speak SIP2 to ``host:port``. Passwords are ``SecretStr`` (never in reprs or logs). Framing
(encoding, terminator, error detection) must match what the machines are set to.
"""

from __future__ import annotations

import hmac
from typing import Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)

from ils_gateway.sip2.codec import CodecSettings
from ils_gateway.tenants.kiosk_profiles import (
    ErrorDetection,
    KioskListener,
    KioskTls,
    TerminalProfile,
    codec_for,
    covers,
    known_encoding,
)
from ils_gateway.tenants.terminal_policy import TerminalPolicy
from ils_gateway.tenants.terminal_reply import ReplyShaping

__all__ = ["KioskLogin", "KioskSip2Config", "KioskTls"]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KioskLogin(_Config):
    """One self-check machine's 93 credentials (CN user, CO password)."""

    user: str = Field(min_length=1)
    password: SecretStr
    allowed_subnets: tuple[IPvAnyNetwork, ...] = Field(
        (), description="the machine logs in only from these addresses or subnets; empty: any"
    )

    def allowed_from(self, address: str) -> bool:
        """Whether this login may be used from ``address``."""
        return not self.allowed_subnets or covers(self.allowed_subnets, address)


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
    encoding: str = Field(
        "utf-8", description="utf-8, cp932 (= shift_jis), euc-jp, cp850, ascii, latin-1"
    )
    terminator: Literal["cr", "crlf", "lf"] = "cr"
    error_detection: bool | ErrorDetection = Field(
        True, description="true/on, false/off, or mirror (per message, as the machine sent it)"
    )
    checksum_basis: Literal["bytes", "chars"] = "bytes"
    login_timeout: float | None = Field(
        None, ge=0, description="a connection must log in (93) within this many seconds"
    )
    profiles: tuple[TerminalProfile, ...] = Field(
        (), description="terminal profiles, tried in order (tenants.kiosk_profiles)"
    )
    listeners: tuple[KioskListener, ...] = Field(
        (), description="more listening ports (TLS, PROXY protocol, a profile each)"
    )
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

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        return known_encoding(value) or value

    @model_validator(mode="after")
    def _unique_users(self) -> Self:
        users = [login.user for login in self.logins]
        if len(users) != len(set(users)):
            raise ValueError("kiosk_sip2.logins: a user is listed twice")
        return self

    @model_validator(mode="after")
    def _profiles_and_listeners(self) -> Self:
        names = [p.name for p in self.profiles]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"profiles: the name {name!r} is used twice")
        for listener in self.listeners:
            if listener.profile is not None and listener.profile not in names:
                raise ValueError(
                    f"listeners: profile {listener.profile!r} is not one of "
                    f"profiles ({', '.join(names) or 'none'})"
                )
        for profile in self.profiles:
            if profile.matches_anyone and profile.name not in {
                listener.profile for listener in self.listeners
            }:
                raise ValueError(
                    f"profiles: {profile.name!r} matches no machine (give addresses, "
                    "ports, locations or login_prefixes, or name it in a listener)"
                )
        seen: dict[int, list[str]] = {} if self.port == 0 else {self.port: [self.host]}
        for listener in self.listeners:
            if listener.port == 0:
                continue
            host = listener.host or self.host
            hosts = seen.setdefault(listener.port, [])
            other = next((h for h in hosts if _overlap(h, host)), None)
            if other is not None:
                raise ValueError(
                    f"listeners: port {listener.port} on {host} overlaps another "
                    f"listener on {other}"
                )
            hosts.append(host)
        return self

    @property
    def default_profile(self) -> TerminalProfile:
        """The framing of ``[tenants.kiosk_sip2]`` itself, as the profile of machines that
        no profile matches."""
        detection = self.error_detection
        if isinstance(detection, bool):
            detection = "on" if detection else "off"
        return TerminalProfile(
            name="default",
            terminator=self.terminator,
            encoding=self.encoding,
            error_detection=detection,
            checksum_basis=self.checksum_basis,
            idle_timeout=self.idle_timeout or 0,
            login_timeout=self.login_timeout or 0,
            allowed_messages=None,
        )

    def login_named(self, user: str) -> KioskLogin | None:
        """The configured 93 login with this user (CN), if any."""
        return next((login for login in self.logins if login.user == user), None)

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
        """The framing of machines no profile matches. Titles or names the encoding cannot
        write get a replacement mark, not a failure; so do list entries, which are titles where
        a hold has no copy (kiosk.face)."""
        return codec_for(self.default_profile)


def _overlap(host: str, other: str) -> bool:
    """Whether two listening hosts share addresses on one port (a wildcard overlaps all)."""
    wildcard = {"", "0.0.0.0", "::"}
    return host == other or host in wildcard or other in wildcard
