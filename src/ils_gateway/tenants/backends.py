"""How the gateway reaches a tenant's library system and e-library (``[tenants.backend]``).

Each backend kind is one model, chosen by its ``kind`` key. Secrets are ``SecretStr`` so they
never show in reprs or logs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ils_gateway.domain.vocab import MaterialType, RefusalReason
from ils_gateway.tenants.loans import Sip2LoanFields
from ils_gateway.tenants.policy import Regex


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def _given_together(self, first: str, second: str) -> Self:
        """This settings block, if ``first`` and ``second`` are both given or both left out."""
        if (getattr(self, first) is None) != (getattr(self, second) is None):
            raise ValueError(f"{first} and {second} must be given together")
        return self


class Timeouts(_Config):
    """Seconds allowed per phase of one backend exchange."""

    connect: float = Field(5.0, gt=0)
    read: float = Field(10.0, gt=0)
    write: float = Field(10.0, gt=0)
    pool: float = Field(5.0, gt=0, description="waiting for a free pooled connection")


class TlsSettings(_Config):
    """TLS for a SIP2 connection; SIP2 sends passwords in clear text without it."""

    enabled: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    verify: bool = True
    server_hostname: str | None = None

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> Self:
        return self._given_together("cert_file", "key_file")


class RefusalPattern(_Config):
    """Maps the ILS's free-text screen message (SIP2 AF) to a refusal reason, by regex."""

    pattern: Regex = Field(description="regular expression searched in the message")
    reason: RefusalReason


_TERMINATORS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}


class SightingLogin(_Config):
    """A second 93 login for the self-checks' sightings (the kiosk face's ``reply.item_seen``):
    the ACS account that records a 17 as a sighting (Koha's ``seen_on_item_information``), so
    the gateway's own item reads (record views in the portal) never count as one."""

    user: str = Field(min_length=1, max_length=64, description="93 login CN")
    password: SecretStr = Field(description="93 login CO")
    location: str | None = Field(None, description="93 login CP")


class Sip2Backend(_Config):
    """A library system reached over SIP2 2.00 (TCP, optionally TLS)."""

    kind: Literal["sip2"]
    host: str
    port: int = Field(ge=1, le=65535)
    tls: TlsSettings | None = None
    login_user: str | None = Field(None, description="93 login CN")
    login_password: SecretStr | None = Field(None, description="93 login CO")
    location: str | None = Field(None, description="93 login CP")
    sighting_login: SightingLogin | None = Field(
        None,
        description="the login whose 17s the ACS records as sightings (one connection, "
        "opened at the first; kiosk_sip2.reply.item_seen needs it)",
    )
    institution_id: str = Field("", description="AO")
    terminal_password: SecretStr | None = Field(None, description="AC")
    language: str = Field("014", pattern=r"^\d{3}$", description="014 = Japanese")
    encoding: Literal["utf-8", "cp932", "ascii", "latin-1"] = "utf-8"
    error_detection: bool = True
    checksum_basis: Literal["bytes", "chars"] = "bytes"
    terminator: Literal["cr", "crlf", "lf"] = "cr"
    timeouts: Timeouts = Timeouts()
    pool_size: int = Field(4, ge=1, le=64)
    log_frames: bool = Field(
        False,
        description="log every SIP2 frame to this ACS at info, redacted (passwords never, "
        "cards masked, items, titles and personal fields as lengths); for diagnosing an ACS",
    )
    list_mode: Literal["item_id", "title", "item_id_title"] = Field(
        "item_id", description="what AS/AT/AU/CD list entries hold on this ACS"
    )
    title_hold_entries: Literal["title", "record_id_title"] = Field(
        "title",
        description="how AS/CD list a hold with no copy yet: its title, or '<record id> <title>'"
        " (the record id then goes back in AJ to cancel or move it)",
    )
    refusal_patterns: tuple[RefusalPattern, ...] = ()
    fine_item_format: Literal["auto", "koha", "evergreen_legacy", "3m", "swyer_b"] = Field(
        "auto",
        description="how this ACS writes a 64's fine items (AV): Koha's default template "
        "(description, then amount), Evergreen's av_format (eg_legacy, 3m/swyer_a, swyer_b), "
        "or auto: each tried in turn",
    )
    loan_fields: Sip2LoanFields = Field(
        Sip2LoanFields(), description="18 fields with a loan's branch and renewal count"
    )
    expiry_field: str | None = Field(
        None,
        pattern=r"^[A-Z0-9]{2}$",
        description="vendor field with the card's expiry date, YYYYMMDD first (Evergreen PA, "
        "Polaris PX); None: this ACS does not say",
    )
    temporary_password_patterns: tuple[Regex, ...] = Field(
        (r"仮パスワード", r"(?i)temporary (password|pin)"),
        description="regexes over the 64's screen messages (AF) meaning a temporary password",
    )
    page_size: int = Field(50, ge=1, le=1000, description="list entries asked for per 63 (BP/BQ)")
    pickup_change: Literal["native", "replace", "unavailable"] = Field(
        "native",
        description="15 mode '*' works (native), cancel and place again (replace), or neither",
    )
    title_level_holds: bool = Field(True, description="holds placed on the title (hold type 2)")
    no_block_due_date: Literal["transaction_date", "blank"] = Field(
        "transaction_date",
        description="the 'no block due date' of 11 checkout and 29 renew: the transaction date"
        " (default; strict servers refuse a blank fixed date) or 18 spaces (the spec's 'no"
        " date', for ACSs that want exactly that)",
    )

    @property
    def terminator_text(self) -> str:
        """The terminator characters a writer appends."""
        return _TERMINATORS[self.terminator]

    def refusal_reason(self, message: str | None) -> RefusalReason:
        """The first pattern's reason that matches ``message``; ``unknown`` when none does."""
        for entry in self.refusal_patterns:
            if message and re.search(entry.pattern, message):
                return entry.reason
        return RefusalReason.UNKNOWN

    @model_validator(mode="after")
    def _login_pair(self) -> Self:
        return self._given_together("login_user", "login_password")


class KohaBackend(_Config):
    """A Koha server reached through its REST API."""

    kind: Literal["koha"]
    base_url: str = Field(pattern=r"^https?://")
    auth: Literal["oauth2", "basic"] = "oauth2"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(20, ge=1)
    # Read by ils_gateway.adapters.koha (see its config module for what each one does).
    max_keepalive_connections: int = Field(10, ge=0)
    read_attempts: int = Field(3, ge=1, description="tries of an idempotent call, first included")
    retry_backoff: float = Field(0.2, ge=0, description="first wait between tries, seconds")
    retry_after: int = Field(30, ge=1, description="seconds suggested when Koha is unavailable")
    hold_level: Literal["biblio", "item"] = "biblio"
    cancellation_request_flow: bool = False
    item_types: dict[str, MaterialType] = Field(
        default_factory=dict, description="Koha itemtype code -> material type, over defaults"
    )

    @model_validator(mode="after")
    def _credentials_for_auth(self) -> Self:
        if self.auth == "oauth2" and not (self.client_id and self.client_secret):
            raise ValueError("auth 'oauth2' needs client_id and client_secret")
        if self.auth == "basic" and not (self.username and self.password):
            raise ValueError("auth 'basic' needs username and password")
        return self


class FolioBackend(_Config):
    """A FOLIO tenant reached through Okapi."""

    kind: Literal["folio"]
    okapi_url: str = Field(pattern=r"^https?://")
    tenant: str
    username: str
    password: SecretStr
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(20, ge=1)
    # Read by ils_gateway.adapters.folio (see its config module for what each one does).
    max_keepalive_connections: int = Field(10, ge=0)
    read_attempts: int = Field(3, ge=1, description="tries of an idempotent call, first included")
    retry_backoff: float = Field(0.2, ge=0, description="first wait between tries, seconds")
    retry_after: int = Field(30, ge=1, description="seconds suggested when FOLIO is unavailable")
    login_path: Literal["/authn/login-with-expiry", "/authn/login"] = "/authn/login-with-expiry"
    verify_patron_pin: bool = Field(True, description="check passwords with /patron-pin/verify")
    request_level: Literal["Title", "Item"] = "Title"
    cancellation_reason_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
        description="FOLIO cancellation reason used when a patron cancels a request",
    )
    service_point_id: str | None = Field(
        None,
        pattern=r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$",
        description="FOLIO service point the self-check machines lend and take back at"
        " (check-out/check-in-by-barcode servicePointId); none: no self-check",
    )


class SimulatorBackend(_Config):
    """The in-process simulated ILS, seeded with Japanese sample data."""

    kind: Literal["simulator"]
    dataset: str = "demo"
    seed: int = 0
    failure_rates: dict[str, float] = Field(
        default_factory=dict, description="operation name → probability of a simulated failure"
    )

    @field_validator("failure_rates")
    @classmethod
    def _rates_are_probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        for name, rate in value.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"failure rate for {name!r} must be between 0 and 1")
        return value


BackendConfig = Annotated[
    Sip2Backend | KohaBackend | FolioBackend | SimulatorBackend, Field(discriminator="kind")
]


_BRIDGE_KEYS = "API keys the e-library sends to ask the gateway whether a patron is valid"


class KinodenElibrary(_Config):
    """A KinoDen-style e-library REST service."""

    kind: Literal["kinoden"]
    base_url: str = Field(pattern=r"^https?://")
    client_id: str
    client_secret: SecretStr
    timeouts: Timeouts = Timeouts()
    bridge_keys: tuple[SecretStr, ...] = Field((), description=_BRIDGE_KEYS)


class SimulatorElibrary(_Config):
    """The in-process simulated e-library."""

    kind: Literal["simulator"]
    seed: int = 0
    bridge_keys: tuple[SecretStr, ...] = Field((), description=_BRIDGE_KEYS)


ElibraryConfig = Annotated[KinodenElibrary | SimulatorElibrary, Field(discriminator="kind")]
