"""The tenant file: a list of libraries (``[[tenants]]``), each with backend, policy and labels."""

from __future__ import annotations

from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    field_validator,
    model_validator,
)

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
from ils_gateway.tenants.catalog import CatalogConfig
from ils_gateway.tenants.http import CorsPolicy
from ils_gateway.tenants.jobs import check_schedules
from ils_gateway.tenants.kiosk import KioskSip2Config
from ils_gateway.tenants.mail import MailConfig
from ils_gateway.tenants.materials import MaterialTypeMap
from ils_gateway.tenants.notices import NoticeConfig
from ils_gateway.tenants.policy import Policy
from ils_gateway.tenants.sdi import SdiConfig
from ils_gateway.tenants.terminal_reply import ReplyShaping


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
    sdi: SdiConfig = Field(
        SdiConfig(), description="new-arrival alerts (新着図書お知らせ): schedule, limit, feed"
    )
    mail: MailConfig | None = Field(
        None,
        description="patron mail: sender, reply-to, signature, encoding, SMTP server; None:"
        " the tenant's mails are kept in the outbox, unsent",
    )
    cors: CorsPolicy = Field(
        CorsPolicy(), description="web origins allowed to call the API from a browser (none)"
    )
    notices: NoticeConfig = Field(
        NoticeConfig(), description="notices to patrons: events, reminder days, polling bounds"
    )
    jobs: dict[str, str] = Field(
        default_factory=dict,
        description="per job name: 'every 15m', 'cron 30 15 * * sat' (tenant time) or 'off'",
    )
    catalog: CatalogConfig = Field(
        CatalogConfig(), description="where the catalogue is searched (issue 19)"
    )
    demo_page: StrictBool = Field(
        False,
        description="serve the demo My Library page at /demo/<id>/ (issue 20; on for the"
        " embedded demo, off unless set for a configured tenant)",
    )
    request_deadline: float = Field(
        10.0,
        gt=0,
        le=120,
        description="seconds an API request may take, all retries and read-backs included; "
        "then it ends with its 503/504 problem",
    )

    @field_validator("jobs")
    @classmethod
    def _schedules_parse(cls, value: dict[str, str]) -> dict[str, str]:
        return check_schedules(value)

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

    @model_validator(mode="after")
    def _item_seen_needs_an_acs(self) -> Self:
        face = self.kiosk_sip2
        if face is None or getattr(self.backend, "sighting_login", None) is not None:
            return self
        replies: list[tuple[str, ReplyShaping | None]] = [("kiosk_sip2.reply", face.reply)]
        replies += [(f"kiosk_sip2.profiles[{p.name!r}].reply", p.reply) for p in face.profiles]
        for where, reply in replies:
            if reply is None or not reply.item_seen:
                continue
            if self.backend.kind != "sip2":
                raise ValueError(
                    f"{where}.item_seen: only a SIP2 library system's ACS can record a 17 as "
                    f"a sighting; {self.backend.kind}'s API has no such write (Koha's REST "
                    "API no item update, FOLIO only a check-in)"
                )
            raise ValueError(
                f"{where}.item_seen: needs [tenants.backend.sighting_login], the ACS account "
                "that records a 17 as a sighting (Koha seen_on_item_information), so the "
                "gateway's own item reads never count as one"
            )
        return self

    @model_validator(mode="after")
    def _sdi_has_a_source(self) -> Self:
        if self.sdi.enabled and self.sdi.feed is None and self.backend.kind == "sip2":
            raise ValueError(
                "sdi.feed: a SIP2 library system lists no new arrivals; give the OPAC's feed "
                "([tenants.sdi.feed] url, format = rss or sru) or set sdi.enabled = false"
            )
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
