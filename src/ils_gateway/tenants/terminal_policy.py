"""What a self-check machine may do beyond the library system's own rules (``TerminalPolicy``).

Tenant-wide in ``[tenants.kiosk_sip2.policy]``; a terminal profile may carry its own, which then
replaces the tenant's (``kiosk.terminal_rules.resolve_rules``). The knobs follow the
per-account options of Koha's SIP server (``etc/SIPconfig.xml``,
``C4/SIP/ILS/Transaction/Checkout.pm``, ``C4/SIP/ILS/Patron.pm``); each description names the
Koha option it mirrors. The library system's refusals still apply: these only add refusals.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ils_gateway.domain.vocab import MaterialType

__all__ = ["PolicyRefusal", "TerminalPolicy"]


class PolicyRefusal(StrEnum):
    """A policy answer with a screen message of its own (``TerminalPolicy.messages``)."""

    BLOCKED_MATERIAL_TYPE = "blocked_material_type"
    BLOCKED_PATRON_CATEGORY = "blocked_patron_category"
    TOO_MANY_OVERDUE = "too_many_overdue"
    TOO_MANY_LOST = "too_many_lost"
    BORROWED_BEFORE = "borrowed_before"
    INHOUSE_USE = "inhouse_use"
    PAYMENT_NOT_TAKEN = "payment_not_taken"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TerminalPolicy(_Config):
    """What the face refuses, or lends only for use in the library, before asking the ILS."""

    blocked_material_types: frozenset[MaterialType] = Field(
        frozenset(),
        description="kinds of material this machine never lends (Koha blocked_item_types)",
    )
    blocked_patron_categories: frozenset[str] = Field(
        frozenset(),
        description="patron categories (the ILS's words) this machine never lends to",
    )
    overdue_block_at: int | None = Field(
        None,
        ge=1,
        description="a patron with this many overdue loans or more may not borrow here "
        "(Koha overdues_block_checkout is 1)",
    )
    lost_block_at: int | None = Field(
        None,
        ge=1,
        description="a patron with this many lost loans or more may not borrow here (Koha "
        "lost_block_checkout)",
    )
    inhouse_material_types: frozenset[MaterialType] = Field(
        frozenset(),
        description="kinds of material used only in the library: the checkout is answered "
        "ok with desensitize N and no loan is made (Koha inhouse_item_types)",
    )
    inhouse_patron_categories: frozenset[str] = Field(
        frozenset(),
        description="patron categories whose checkouts are in-house use (Koha "
        "inhouse_patron_categories)",
    )
    block_borrowed_before: bool = Field(
        False,
        description="refuse a title the patron has on loan already, by another copy or this "
        "one (Koha prevcheckout_block_checkout; the gateway reads the current loans: see "
        "docs/kiosk-reply-policy.md)",
    )
    messages: dict[PolicyRefusal, str] = Field(
        default_factory=dict,
        description="the screen message (AF) of each policy answer in the library's words; "
        "default: the gateway's (Japanese or English per the request)",
    )
