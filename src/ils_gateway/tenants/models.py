"""The tenant file: a list of libraries (``[[tenants]]``), each with backend, policy and labels."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ils_gateway.domain.labels import Labels, validate_overrides
from ils_gateway.domain.models import Library
from ils_gateway.tenants.account import (
    AccountLinksConfig,
    LanguageConfig,
    PasswordChangeConfig,
    password_way_out_problem,
)
from ils_gateway.tenants.backends import BackendConfig, ElibraryConfig
from ils_gateway.tenants.calendar import CalendarConfig
from ils_gateway.tenants.http import CorsPolicy
from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.mail import MailConfig
from ils_gateway.tenants.materials import MaterialTypeMap
from ils_gateway.tenants.policy import Policy


class LabelsConfig(BaseModel):
    """Per-tenant label overrides: ``[tenants.labels.ja.hold_status] ready = "…"`` (the
    library's own words), and ``[tenants.labels.en.…]`` for its English wording."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ja: dict[str, dict[str, str]] = Field(default_factory=dict)
    en: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("ja", "en")
    @classmethod
    def _known_keys(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        validate_overrides(_flatten(value))
        return value

    def build(self) -> Labels:
        """The tenant's label catalogue."""
        return Labels(_flatten(self.ja), en_overrides=_flatten(self.en))


def _flatten(nested: dict[str, dict[str, str]]) -> dict[str, str]:
    return {
        f"{vocab}.{value}": text for vocab, table in nested.items() for value, text in table.items()
    }


class TenantConfig(BaseModel):
    """One library served by the gateway."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$", description="URL-safe tenant id")
    name: str = Field(min_length=1)
    name_en: str | None = None
    timezone: str = "Asia/Tokyo"
    backend: BackendConfig
    elibrary: ElibraryConfig | None = None
    policy: Policy = Policy()
    material_types: MaterialTypeMap = Field(
        MaterialTypeMap(), description="the backend's item/media/material types -> canonical"
    )
    labels: LabelsConfig = LabelsConfig()
    language: LanguageConfig = LanguageConfig()
    password_change: PasswordChangeConfig = PasswordChangeConfig()
    account_links: AccountLinksConfig = Field(
        AccountLinksConfig(), description="the portal pages mailed account links open"
    )
    kiosk_keys: tuple[SecretStr, ...] = Field((), description="credentials of OPAC kiosks")
    kiosk_sip2: KioskSip2Config | None = Field(None, description="SIP2 face for self-checks")
    pickup_libraries: tuple[Library, ...] = Field(
        (), description="where holds can be collected, for backends that cannot list them (SIP2)"
    )
    calendar: CalendarConfig | None = Field(
        None,
        description="opening hours, closed days, holidays and closures (GET …/calendar, due"
        " dates on closed days, next opening day); None: the gateway knows no calendar",
    )
    mail: MailConfig | None = Field(
        None,
        description="patron mail: sender, reply-to, signature, encoding, SMTP server; None:"
        " the tenant's mails are kept in the outbox, unsent",
    )
    cors: CorsPolicy = Field(
        CorsPolicy(), description="web origins allowed to call the API from a browser (none)"
    )
    request_deadline: float = Field(
        10.0,
        gt=0,
        le=120,
        description="seconds an API request may take, all retries and read-backs included; "
        "then it ends with its 503/504 problem",
    )

    @model_validator(mode="after")
    def _temporary_passwords_have_a_way_out(self) -> Self:
        problem = password_way_out_problem(
            self.policy.account.temporary_password_gate,
            self.backend.kind,
            getattr(self.backend, "verify_patron_pin", True),
            self.password_change,
        )
        if problem is not None:
            raise ValueError(problem)
        return self


class TenantFile(BaseModel):
    """The whole TOML document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: tuple[TenantConfig, ...] = Field(min_length=1)

    @field_validator("tenants")
    @classmethod
    def _unique_ids(cls, tenants: tuple[TenantConfig, ...]) -> tuple[TenantConfig, ...]:
        seen: set[str] = set()
        for tenant in tenants:
            if tenant.id in seen:
                raise ValueError(f"tenant id {tenant.id!r} is used twice")
            seen.add(tenant.id)
        return tenants
