"""How the SIP2 face words and shapes its answers to self-check machines (``ReplyShaping``).

Tenant-wide in ``[tenants.kiosk_sip2.reply]``; a terminal profile may carry its own, which then
replaces the tenant's (``kiosk.terminal_rules.resolve_rules``). The knobs follow the
per-account options of Koha's SIP server (``etc/SIPconfig.xml``, ``C4/SIP/Sip/MsgType.pm``,
``C4/SIP/ILS/Transaction/Checkin.pm``); each field's description names the Koha option it
mirrors. Templates are restricted ``str.format`` strings (``tenants.terminal_templates``),
checked here at load time against the names each one may use.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ils_gateway.domain.vocab import MaterialType
from ils_gateway.tenants.terminal_templates import check_template

__all__ = [
    "CHECKIN_NAMES",
    "ITEM_NAMES",
    "LOAN_NAMES",
    "PATRON_NAMES",
    "CheckinOutcome",
    "CheckinShaping",
    "CustomField",
    "ReplyEvent",
    "ReplyShaping",
    "ScreenRewrite",
    "SortRule",
]

PATRON_NAMES = frozenset(
    {
        "name",
        "category",
        "home_library",
        "home_library_name",
        "card_expires",
        "loans",
        "overdue",
        "holds",
        "holds_ready",
        "fees_owed",
        "email",
        "phone",
    }
)
"""What a patron template may name (never the card number, birth date or password)."""

ITEM_NAMES = frozenset(
    {
        "barcode",
        "title",
        "author",
        "call_number",
        "location",
        "material_type",
        "isbn",
        "volume",
        "status",
    }
)
"""What an item template may name."""

LOAN_NAMES = PATRON_NAMES | ITEM_NAMES | {"due_date"}
"""A checkout's or renewal's: the patron, the item and the due date."""

CHECKIN_NAMES = ITEM_NAMES | {"sort_bin", "alert_type", "outcome"}
"""A check-in's: the item, where it goes and why."""


class ReplyEvent(StrEnum):
    """The kinds of answer the library's AF and AG lines are written for."""

    PATRON = "patron"  # 24/64 of a known patron
    CHECKOUT = "checkout"
    RENEW = "renew"
    CHECKIN = "checkin"
    ITEM_INFORMATION = "item_information"
    INHOUSE_USE = "inhouse_use"


_EVENT_NAMES: dict[ReplyEvent, frozenset[str]] = {
    ReplyEvent.PATRON: PATRON_NAMES,
    ReplyEvent.CHECKOUT: LOAN_NAMES,
    ReplyEvent.RENEW: LOAN_NAMES,
    ReplyEvent.CHECKIN: CHECKIN_NAMES,
    ReplyEvent.ITEM_INFORMATION: ITEM_NAMES,
    ReplyEvent.INHOUSE_USE: PATRON_NAMES | ITEM_NAMES,
}

CheckinOutcome = Literal["returned", "not_on_loan", "hold_shelf", "in_transit", "lost"]
"""What a check-in found: a loan ended; a copy that was not on loan; a copy now waiting on the
hold shelf here; a copy to travel (to a hold's pickup library or its home); a lost copy."""

_FIELD_ID = r"^[A-Z0-9]{2}$"
# Fields a template or rule must not write: the trailer, and the ones the face derives itself.
_RESERVED = frozenset({"AY", "AZ", "AA", "AO", "AB", "BL", "CQ"})


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CustomField(_Config):
    """One extra field a machine expects, from a template (Koha ``custom_patron_field
    field="DE" template="…"``, ``custom_item_field``, ``item_field field="ZY"
    code="permanent_location"`` and ``cr_item_field``: CR with ``template = "{location}"``)."""

    field: str = Field(pattern=_FIELD_ID, description="two-character SIP2 field id")
    template: str = Field(max_length=255)

    @field_validator("field")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in _RESERVED:
            raise ValueError(f"{value} is written by the face itself")
        return value


class ScreenRewrite(_Config):
    """A screen-message rewrite, ``re.sub(find, replace, AF)`` on every AF sent (Koha
    ``<screen_msg_regex find="…" replace="…"/>``)."""

    find: str = Field(min_length=1, max_length=255)
    replace: str = Field("", max_length=255)

    @model_validator(mode="after")
    def _compiles(self) -> Self:
        try:
            re.compile(self.find)
        except re.error as exc:
            raise ValueError(f"screen-message rewrite {self.find!r}: {exc}") from None
        try:  # the same groups, matching "": a replacement naming a missing group fails here
            probe = re.compile(f"(?:{self.find})|")
        except re.error:  # global flags that cannot move inside a group: checked when used
            return self
        match = probe.match("")
        try:
            if match is not None:
                match.expand(self.replace)
        except (re.error, IndexError) as exc:
            raise ValueError(f"screen-message rewrite {self.find!r}: {exc}") from None
        return self

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled ``find``."""
        return re.compile(self.find)


class SortRule(_Config):
    """Where a checked-in copy goes (CL sort bin) and what the machine is told (CV alert
    type, an AF line); the first rule whose conditions all hold wins. An empty condition
    matches anything. Koha sets CV itself (``Checkin.pm``: 01 hold here, 02 hold elsewhere,
    04 send to another library, 99 other); a rule can say it in the library's own terms."""

    outcomes: frozenset[CheckinOutcome] = Field(
        frozenset(), description="what the check-in found (empty: any)"
    )
    material_types: frozenset[MaterialType] = Field(frozenset(), description="empty: any")
    locations: frozenset[str] = Field(
        frozenset(), description="the copy's home library or collection (AQ); empty: any"
    )
    sort_bin: str | None = Field(None, max_length=32, description="CL")
    alert_type: Literal["00", "01", "02", "03", "04", "99"] | None = Field(
        None, description="CV; None: the outcome's own (see CheckinShaping.alert_types)"
    )
    destination: str | None = Field(None, max_length=64, description="CT")
    screen_message: str | None = Field(None, max_length=255, description="AF (a template)")

    @field_validator("screen_message")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value, CHECKIN_NAMES)

    def matches(self, outcome: CheckinOutcome, material: MaterialType, location: str) -> bool:
        """Whether this rule applies to a copy."""
        return (
            (not self.outcomes or outcome in self.outcomes)
            and (not self.material_types or material in self.material_types)
            and (not self.locations or location in self.locations)
        )


class CheckinShaping(_Config):
    """The check-in answer (10): ok, alert, sort bin, and what counts as a good return."""

    checked_in_ok: bool = Field(
        True,
        description="a copy that was not on loan is a good return (ok=1, no alert), as Koha's "
        "checked_in_ok; false: ok=0 with an alert and a screen message (Koha's default; the "
        "face reads the copy first)",
    )
    holds_block_checkin: bool = Field(
        False,
        description="a copy a hold waits for is answered ok=0, alert, CV 99 and the library's "
        "screen message, so the patron hands it to staff (Koha holds_block_checkin)",
    )
    alert_types: bool = Field(
        False,
        description="send CV: 01 copy waits on the hold shelf here, 04 it travels, 99 refused; "
        "a sort rule's alert_type wins (Koha Checkin.pm)",
    )
    cv_triggers_alert: bool = Field(
        False, description="the alert flag is set exactly when CV is (Koha cv_triggers_alert)"
    )
    cv_send_00_on_success: bool = Field(
        False, description="CV 00 on a return with no other alert (Koha cv_send_00_on_success)"
    )
    ct_always_send: bool = Field(
        False, description="CT (destination) even when empty (Koha ct_always_send)"
    )
    hold_sort_bin: str | None = Field(
        None, max_length=32, description="CL of a copy caught for a hold (when no rule says)"
    )
    sort_rules: tuple[SortRule, ...] = ()


class ReplyShaping(_Config):
    """The words and fields of the face's answers (Koha's per-account options)."""

    hide_fields: frozenset[str] = Field(
        frozenset(),
        description="variable fields never sent, e.g. BD, BE, BF (Koha hide_fields)",
    )
    allow_fields: frozenset[str] | None = Field(
        None,
        description="if set, only these variable fields are sent, besides each answer's "
        "required ones (Koha allow_fields)",
    )
    patron_name_template: str | None = Field(
        None, max_length=255, description="AE of 24/64 (Koha ae_field_template)"
    )
    screen_messages: dict[ReplyEvent, tuple[str, ...]] = Field(
        default_factory=dict,
        description="AF lines added per answer kind, as templates (Koha show_checkin_message "
        "and the AF of MsgType.pm, in the library's words)",
    )
    print_lines: dict[ReplyEvent, tuple[str, ...]] = Field(
        default_factory=dict, description="AG lines per answer kind, as templates"
    )
    due_date_format: str | None = Field(
        None,
        max_length=32,
        description="AH of 12/30 as strftime text, e.g. '%Y-%m-%d' (Koha format_due_date); "
        "default: the SIP2 date, end of the due day",
    )
    screen_message_rewrites: tuple[ScreenRewrite, ...] = Field(
        (), description="AF rewrites, in order (Koha screen_msg_regex)"
    )
    home_library_in_screen_message: bool = Field(
        False,
        description="the patron's home library as an AF line of 24/64 (Koha "
        "send_patron_home_library_in_af)",
    )
    home_library_template: str = Field(
        "{home_library_name}", max_length=255, description="that AF line"
    )
    custom_patron_fields: tuple[CustomField, ...] = Field(
        (), description="extra fields of 24/64 (Koha custom_patron_field, patron_attribute)"
    )
    custom_item_fields: tuple[CustomField, ...] = Field(
        (),
        description="extra fields of 18, 10 and 12 (Koha custom_item_field, item_field, "
        "cr_item_field)",
    )
    convert_nonprinting: str | None = Field(
        None,
        max_length=4,
        description="control characters in any field are replaced by this (Koha "
        "convert_nonprinting_characters); None: sent as they are",
    )
    lost_as_missing: bool = Field(
        False,
        description="a copy the library system calls lost is reported missing (18 "
        "circulation status 13; the status template name says 'missing'), as Koha's "
        "lost_status_for_missing",
    )
    item_seen: bool = Field(
        False,
        description="every 17 is read from the library system, never from the gateway's "
        "cache, so an ACS that records a 17 as a sighting (Koha's SIP server with "
        "seen_on_item_information on the gateway's SIP account) records each one; a SIP2 "
        "library system only",
    )
    checkin: CheckinShaping = CheckinShaping()

    @field_validator("hide_fields", "allow_fields")
    @classmethod
    def _field_ids(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        for fid in value or ():
            if not re.match(_FIELD_ID, fid):
                raise ValueError(f"{fid!r} is not a two-character SIP2 field id")
        return value

    @field_validator("patron_name_template", "home_library_template")
    @classmethod
    def _patron_template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value, PATRON_NAMES)

    @field_validator("custom_patron_fields")
    @classmethod
    def _patron_fields(cls, value: tuple[CustomField, ...]) -> tuple[CustomField, ...]:
        for custom in value:
            check_template(custom.template, PATRON_NAMES)
        return value

    @field_validator("custom_item_fields")
    @classmethod
    def _item_fields(cls, value: tuple[CustomField, ...]) -> tuple[CustomField, ...]:
        for custom in value:
            check_template(custom.template, ITEM_NAMES)
        return value

    @field_validator("screen_messages", "print_lines")
    @classmethod
    def _event_templates(
        cls, value: dict[ReplyEvent, tuple[str, ...]]
    ) -> dict[ReplyEvent, tuple[str, ...]]:
        for event, lines in value.items():
            for line in lines:
                check_template(line, _EVENT_NAMES[event])
        return value

    @field_validator("due_date_format")
    @classmethod
    def _due_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "%" not in value:
            raise ValueError("due_date_format: a strftime pattern such as '%Y-%m-%d'")
        text = date(2026, 12, 31).strftime(value)
        if any(c in text for c in "|\r\n"):
            raise ValueError("due_date_format: gives '|', CR or LF")
        return value
