"""A tenant's house rules (``[tenants.policy]``): every rule that differs between libraries.

The models here only describe and check the rules' data, plus small pure helpers
(normalise a card number, list a password's problems); ``services/`` apply them. Defaults are
the most common rule among the seed libraries; ``None`` means "no gateway rule: the ILS
decides".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ils_gateway.domain.vocab import Channel, ContactMethod, Feature, HoldStatus, MaterialType
from ils_gateway.tenants.loans import LoanPolicy
from ils_gateway.tenants.materials import AgeHoldLimit


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from exc
    return value


Regex = Annotated[str, AfterValidator(_check_regex)]


class CardPolicy(_Config):
    """How a typed card number is normalised and what a valid one looks like."""

    strip: str = Field("- ", description="characters removed (Saitama strips hyphens)")
    nfkc: bool = Field(True, description="turn full-width digits into ASCII first")
    uppercase: bool = True
    pattern: Regex = Field(r"^[0-9A-Z]{4,20}$", description="full-match regex after normalising")

    def normalise(self, raw: str) -> str | None:
        """The card number in canonical form, or None when it cannot be valid."""
        text = unicodedata.normalize("NFKC", raw) if self.nfkc else raw
        text = "".join(ch for ch in text.strip() if ch not in self.strip)
        if self.uppercase:
            text = text.upper()
        return text if re.fullmatch(self.pattern, text) else None


class PasswordPolicy(_Config):
    """What a new password must look like."""

    min_length: int = Field(4, ge=1)
    max_length: int = Field(64, ge=1)
    allowed_pattern: Regex = Field(
        r"^[\x21-\x7e]+$", description="full-match regex over the whole password"
    )
    require_letter: bool = False
    require_digit: bool = False
    require_symbol: bool = False
    symbols: str = Field("#$%&@+*=!()", description="characters that count as symbols")

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    def problems(self, password: str) -> list[str]:
        """Why ``password`` is not acceptable (empty when it is); never echoes the password."""
        found: list[str] = []
        if not self.min_length <= len(password) <= self.max_length:
            found.append(f"length must be {self.min_length}-{self.max_length} characters")
        if not re.fullmatch(self.allowed_pattern, password):
            found.append("contains characters that are not allowed")
        if self.require_letter and not any(c.isascii() and c.isalpha() for c in password):
            found.append("must contain a letter")
        if self.require_digit and not any(c.isdigit() for c in password):
            found.append("must contain a digit")
        if self.require_symbol and not any(c in self.symbols for c in password):
            found.append(f"must contain one of {self.symbols}")
        return found


_RegistrationProof = Literal["birth_date", "phone", "name", "issued_code"]


class AccountPolicy(_Config):
    """Temporary passwords, and who may log in with an expired card or overdue items."""

    temporary_password_gate: bool = Field(
        False, description="a patron with a temporary password may only change it"
    )
    temporary_password_pattern: Regex | None = Field(
        None, description="regex of first-login passwords (Kanagawa: 10 digits)"
    )
    login_when_expired: bool = Field(
        False,
        description="may a patron whose card has expired log in (to see loans and renew the"
        " card online: Ibaraki); False: refused with patron-blocked card_expired",
    )
    login_when_overdue: bool = Field(
        True,
        description="may a patron with overdue items log in (False: Kanagawa, 「現在この利用者"
        "番号は使えません」, refused with patron-blocked overdue_items)",
    )
    # Issue 18, the account lifecycle (services/account_lifecycle.py; docs/account.md).
    registration_proofs: tuple[_RegistrationProof, ...] = Field(
        (),
        description="what proves a patron's identity for a first password, besides the card "
        "(birth_date, phone, name, issued_code: the counter's code checked by the library "
        "system as a password); empty: no registration online",
    )
    reset_by_email: bool = Field(
        False, description="a forgotten password is reset by a single-use link e-mailed"
    )
    reset_asks_email: bool = Field(
        False,
        description="a reset request names the registered e-mail address too, and a link is"
        " mailed only when it matches (Kanagawa, Ibaraki)",
    )
    reset_link_minutes: int = Field(
        30, ge=5, le=1440, description="how long a password-reset link stays valid"
    )
    confirm_link_minutes: int = Field(
        1440,
        ge=10,
        le=10080,
        description="how long a link confirming a new e-mail address or phone stays valid",
    )
    reset_requests_per_card: int = Field(
        3, ge=1, description="reset links one card may ask for per hour (more: silently none)"
    )
    reset_requests_per_address: int = Field(
        20, ge=1, description="reset or registration tries one client address may make per hour"
    )


class LoginPolicy(_Config):
    """When failed logins lock a card (or a client address) for a while, on every face, and
    the growing delays before that: after ``delay_after_failures`` failures within the window,
    each further one holds the card back ``first_delay_seconds``, then twice, four times… that,
    at most ``max_delay_seconds`` (the address likewise after its own number)."""

    max_failures: int = Field(10, ge=1, description="failed logins of one card that lock it")
    window_minutes: int = Field(15, ge=1, description="the failures counted are this recent")
    lock_minutes: int = Field(15, ge=1, description="how long a locked card stays locked")
    max_failures_per_address: int = Field(
        100, ge=1, description="failed logins from one client address that lock the address"
    )
    delay_after_failures: int = Field(
        3, ge=0, description="failed logins of one card before each further one delays the next"
    )
    delay_after_failures_per_address: int = Field(
        20, ge=0, description="failed logins from one address before each further one delays"
    )
    first_delay_seconds: int = Field(
        1, ge=0, description="the first delay; it doubles with each further failure (0: none)"
    )
    max_delay_seconds: int = Field(30, ge=0, description="the longest delay before the lock")


class OverdueRenewal(_Config):
    """Whether an overdue loan may be renewed.

    ``refuse``: never; ``allow``: as any loan; ``shortened``: the new loan period is
    ``grace_days`` minus the days overdue, refused when more than ``grace_days`` overdue
    (Saitama: 14).
    """

    mode: Literal["refuse", "allow", "shortened"] = "refuse"
    grace_days: int = Field(14, ge=1)


class RenewalPolicy(_Config):
    """The renewal rules the gateway explains before (and after) asking the ILS."""

    max_renewals: int = Field(1, ge=0)
    period_days: int | None = Field(None, ge=1, description="new due = renewal day + N")
    branch_period_days: dict[str, int] = Field(
        default_factory=dict,
        description="loan branch code (or bookmobile code, or 'bookmobile' for any) → period"
        " (Ibaraki branch rooms 14)",
    )
    overdue: OverdueRenewal = OverdueRenewal()
    earliest_days_before_due: int | None = Field(None, ge=0, description="None = any time")
    interlibrary_loans: bool = Field(True, description="may inter-library loans be renewed")
    excluded_material_types: frozenset[MaterialType] = frozenset()
    excluded_loan_branches: frozenset[str] = Field(
        frozenset(),
        description="loans from these branches are not renewable: branch, bookmobile or station"
        " codes, or 'bookmobile' for every bookmobile of [tenants.policy.loans]",
    )


class HoldLimit(_Config):
    """At most ``max`` active holds on the listed material types."""

    name: str
    material_types: frozenset[MaterialType] = Field(min_length=1)
    max: int = Field(ge=0)


class PickupExtension(_Config):
    """Extending a ready hold's pickup deadline (取置期限延長).

    How many days, and whether someone else waiting forbids it, are the library system's own
    rules (it extends); the gateway only counts ``times``.
    """

    times: int = Field(1, ge=1)


class HoldPolicy(_Config):
    """Limits and allowed actions for holds."""

    max_total: int | None = Field(None, ge=0, description="all ILS holds together")
    limits: tuple[HoldLimit, ...] = ()
    age_limits: tuple[AgeHoldLimit, ...] = Field(
        (), description="limits by the patron's age or category (Akiruno: holds from age 12)"
    )
    max_ebook_holds: int | None = Field(None, ge=0)
    count_cancelled: bool = Field(False, description="do listed cancelled holds count")
    refuse_when_overdue_days: int | None = Field(
        None, ge=0, description="no new holds while an item is this many days overdue (Ibaraki 4)"
    )
    excluded_material_types: frozenset[MaterialType] = frozenset()
    cancel_allowed_states: frozenset[HoldStatus] = frozenset({HoldStatus.WAITING})
    modify_allowed_states: frozenset[HoldStatus] = frozenset({HoldStatus.WAITING})
    bookmobile_contact: Literal["any", "phone_only"] = "any"
    transfers: bool = Field(
        True,
        description="取り寄せ: may a hold be placed on a copy on the shelf (of another branch), so"
        " the library sends it to the pickup library (Akiruno); False: refused before the ILS"
        " (title_available: borrow it where it is)",
    )
    contact_methods: frozenset[ContactMethod] = Field(
        frozenset(ContactMethod),
        min_length=1,
        description="how the library may tell a patron a hold is ready (予約連絡方法): Kanagawa"
        " e-mail or none, Ibaraki phone, e-mail or none",
    )
    pickup_extension: PickupExtension | None = None
    skip_allowed: bool = Field(False, description="hold skip (予約取置スキップ)")
    sequences: bool = Field(False, description="hold sequences (順番予約)")
    or_holds_max: int = Field(
        0,
        ge=0,
        le=20,
        description="OR-holds (いずれか予約): most records in one group (any one is wanted; the"
        " others are cancelled when one is filled); 0 = not offered",
    )
    cancelled_history_days: int | None = Field(
        None, ge=0, description="how long cancelled holds stay listed; None = ILS default"
    )
    cancelled_history_deletable: bool = False
    ebook_cancelled_in_history: bool = True

    @model_validator(mode="after")
    def _states_are_live(self) -> Self:
        for field in ("cancel_allowed_states", "modify_allowed_states"):
            closed = {s for s in getattr(self, field) if not s.is_active}
            if closed:
                names = ", ".join(sorted(closed))
                raise ValueError(f"{field} cannot include closed states: {names}")
        return self


class EbookPolicy(_Config):
    """E-book limits (the e-library enforces them too; the gateway explains)."""

    max_loans: int | None = Field(None, ge=0)
    max_holds: int | None = Field(None, ge=0)


class ListsPolicy(_Config):
    """Limits of the lists a patron keeps: basket, bookshelves."""

    basket_size: int | None = Field(None, ge=1, description="None = no basket")
    max_shelves: int | None = Field(None, ge=1)
    max_items_per_shelf: int | None = Field(None, ge=1)
    comment_max_chars: int = Field(100, ge=1)


class MaintenanceSchedule(_Config):
    """A daily window in local time when writes are refused (Ibaraki 03:50-04:20)."""

    start: time
    end: time
    timezone: str = "Asia/Tokyo"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end are equal")
        return self

    def window_end(self, now: datetime) -> datetime | None:
        """When the window that contains ``now`` ends, or None when ``now`` is outside it.

        ``now`` must be timezone-aware. A window may cross midnight (start > end).
        """
        local = now.astimezone(ZoneInfo(self.timezone))
        t = local.time().replace(tzinfo=None)
        day = local.date()
        if self.start < self.end:
            inside = self.start <= t < self.end
        else:
            inside = t >= self.start or t < self.end
            if t >= self.start:
                day += timedelta(days=1)
        if not inside:
            return None
        return datetime.combine(day, self.end, tzinfo=local.tzinfo)


class EmailPolicy(_Config):
    """E-mail address rules (Akiruno)."""

    max_addresses: int = Field(2, ge=1, le=2)
    forbid_leading_symbol: bool = False
    forbid_dot_before_at: bool = False
    forbid_consecutive_dots: bool = False

    def problems(self, address: str) -> list[str]:
        """Why ``address`` is not acceptable (empty when it is)."""
        found: list[str] = []
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in address):
            return ["not an e-mail address"]
        if self.forbid_leading_symbol and not address[0].isalnum():
            found.append("must not start with a symbol")
        if self.forbid_dot_before_at and local.endswith("."):
            found.append("must not have '.' right before '@'")
        if self.forbid_consecutive_dots and ".." in address:
            found.append("must not contain '..'")
        return found


class FeesPolicy(_Config):
    """Fines and fees (GET …/patron/fees): where a patron pays, and the amounts owed from
    which the library refuses holds, renewals or loans (its own rule, e.g. Koha's
    ``noissuescharge``); None: no such rule. Japanese public libraries rarely fine, but many
    stop loans while a lost item's replacement is unpaid."""

    payment: str = Field(
        "図書館のカウンターでお支払いください",
        min_length=1,
        description="where to pay, in the library's Japanese words (the API takes no payment)",
    )
    payment_en: str = Field("Please pay at a library counter", min_length=1)
    holds_blocked_from: int | None = Field(
        None, ge=1, description="yen owed from which new holds are refused"
    )
    renewals_blocked_from: int | None = Field(
        None, ge=1, description="yen owed from which renewals are refused"
    )
    borrowing_blocked_from: int | None = Field(
        None, ge=1, description="yen owed from which loans (self-check checkouts) are refused"
    )


class Policy(_Config):
    """Every per-library rule, grouped by what it governs."""

    card: CardPolicy = CardPolicy()
    password: PasswordPolicy = PasswordPolicy()
    account: AccountPolicy = AccountPolicy()
    login: LoginPolicy = LoginPolicy()
    renewal: RenewalPolicy = RenewalPolicy()
    loans: LoanPolicy = LoanPolicy()
    holds: HoldPolicy = HoldPolicy()
    ebooks: EbookPolicy = EbookPolicy()
    lists: ListsPolicy = ListsPolicy()
    email: EmailPolicy = EmailPolicy()
    fees: FeesPolicy = FeesPolicy()
    idle_timeout_minutes: int | None = Field(None, ge=1)
    maintenance: MaintenanceSchedule | None = None
    disabled_features: dict[Channel, frozenset[Feature]] = Field(
        default_factory=dict, description="channel → features refused there"
    )
    barcode_symbology: Literal["codabar", "code39"] = "codabar"

    def feature_enabled(self, feature: Feature, channel: Channel) -> bool:
        """True unless the tenant switched ``feature`` off on ``channel``."""
        return feature not in self.disabled_features.get(channel, frozenset())
