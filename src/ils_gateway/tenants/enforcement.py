"""Where each house rule of ``[tenants.policy]`` is enforced: one registry, two uses.

``RULES`` names, for every key of ``Policy`` (dotted, below ``policy``; list members as
``holds.limits[].max``), who enforces it (``Where``) and the code that reads it (``readers``:
module and the text that reads the key there). ``tests/tenants/test_enforcement.py`` fails when
a policy key has no entry or an entry's reader no longer contains that text, so a key no code
reads cannot be added silently; ``ils-gateway config check --explain`` prints each tenant's
rules from here, so the explanation cannot drift from the code.

``PENDING`` lists keys parsed from tenant files whose enforcement is being built elsewhere
with who builds it (empty now: a key waits in no file); ``explain`` shows them as "not enforced
yet". A key is in one of the two, never both.

Other modules under ``tenants/`` that add policy keys add their entries here too.
``[tenants.calendar]`` (``tenants/calendar.py``, issue 18) is the library's calendar, not a
``policy`` key: ``TenantContext.calendar`` builds it; ``services.loans``/``services.holds``
read it (``due_on_calendar``, a ready hold's ``next_opening_day``) and ``GET …/calendar`` shows it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from ils_gateway.tenants.policy import Policy

__all__ = ["PENDING", "RULES", "Enforcement", "Where", "explain", "policy_keys"]


class Where(StrEnum):
    """Who applies a rule."""

    GATEWAY = "gateway, before the ILS"
    """The gateway checks it and refuses before the library system is asked (or, for the
    gateway's own data — lists, histories, login locks — the gateway is the only one)."""
    ILS = "the ILS itself"
    """The library system (or e-library) decides; the gateway passes its answer on."""


@dataclass(frozen=True)
class Enforcement:
    """Who enforces one key, and which code reads it: ``(module, text it contains)`` pairs."""

    where: Where
    readers: tuple[tuple[str, str], ...]
    note: str = ""


def _g(*readers: tuple[str, str], note: str = "") -> Enforcement:
    return Enforcement(Where.GATEWAY, readers, note)


_POLICY = "ils_gateway.tenants.policy"
_RULES = "ils_gateway.services.rules"
_ACCOUNT = "ils_gateway.services.account"
_HOLDS = "ils_gateway.services.holds"
_EBOOKS = "ils_gateway.services.ebooks.service"
_HISTORY = "ils_gateway.services.mylists.cancelled_holds"
_SHELVES = "ils_gateway.services.mylists.shelves"
_SETTINGS = "ils_gateway.services.mylists.settings"
_EXTRAS = "ils_gateway.services.mylists.hold_extras"
_FEES = "ils_gateway.services.fees"
_CARD = (_ACCOUNT, ".card.normalise(")
_PASSWORD = (_ACCOUNT, ".password.problems(")
_EMAIL = (_SETTINGS, "rules.problems(")
_MAINTENANCE = (_RULES, ".maintenance.window_end(")


def _self(field: str, via: tuple[str, str]) -> Enforcement:
    """A key read by a method of its own policy model (``self.field``), called from ``via``."""
    return _g((_POLICY, f"self.{field}"), via)


RULES: dict[str, Enforcement] = {
    # card numbers: normalised and checked before any login reaches the ILS
    **{f"card.{k}": _self(k, _CARD) for k in ("strip", "nfkc", "uppercase", "pattern")},
    # a new password's shape, checked before the ILS is asked to change it
    **{
        f"password.{k}": _self(k, _PASSWORD)
        for k in (
            "min_length",
            "max_length",
            "allowed_pattern",
            "require_letter",
            "require_digit",
            "require_symbol",
            "symbols",
        )
    },
    "account.temporary_password_gate": _g((_ACCOUNT, ".temporary_password_gate")),
    "account.temporary_password_pattern": _g((_ACCOUNT, ".temporary_password_pattern")),
    "account.login_when_expired": _g((_ACCOUNT, ".login_when_expired")),
    "account.login_when_overdue": _g((_ACCOUNT, ".login_when_overdue")),
    **{
        f"login.{k}": _g((_ACCOUNT, f".{k}"))
        for k in (
            "max_failures",
            "window_minutes",
            "lock_minutes",
            "max_failures_per_address",
            "delay_after_failures",
            "delay_after_failures_per_address",
            "first_delay_seconds",
            "max_delay_seconds",
        )
    },
    # renewals: explained and refused by the gateway first; the ILS still has the last word
    **{
        f"renewal.{k}": _g((_RULES, f".{k}"))
        for k in (
            "max_renewals",
            "period_days",
            "branch_period_days",
            "earliest_days_before_due",
            "interlibrary_loans",
            "excluded_material_types",
            "excluded_loan_branches",
        )
    },
    "renewal.overdue.mode": _g((_RULES, ".overdue.mode")),
    "renewal.overdue.grace_days": _g((_RULES, ".overdue.grace_days")),
    # holds
    "holds.max_total": _g((_HOLDS, ".max_total")),
    "holds.limits[].name": _g(
        ("ils_gateway.tenants.enforcement", 'getattr(limit, "name"'),
        note="names the limit in config check --explain",
    ),
    "holds.limits[].material_types": _g((_HOLDS, ".material_types")),
    "holds.limits[].max": _g((_HOLDS, "limit.max")),
    "holds.age_limits[].name": _g((_HOLDS, "limit.name")),
    "holds.age_limits[].under_age": _g(("ils_gateway.tenants.materials", "self.under_age")),
    "holds.age_limits[].age_on": _g(("ils_gateway.tenants.materials", "self.age_on")),
    "holds.age_limits[].categories": _g(("ils_gateway.tenants.materials", "self.categories")),
    "holds.age_limits[].material_types": _g(
        ("ils_gateway.tenants.materials", "self.material_types")
    ),
    "holds.age_limits[].max": _g((_HOLDS, "limit.max")),
    "loans.bookmobiles[].code": _g(("ils_gateway.tenants.loans", "mobile.code")),
    "loans.bookmobiles[].name": _g(
        ("ils_gateway.tenants.enforcement", 'getattr(limit, "name"'),
        note="names the bookmobile in config check --explain",
    ),
    "loans.bookmobiles[].stations": _g(("ils_gateway.tenants.loans", "mobile.stations")),
    "holds.max_ebook_holds": _g((_EBOOKS, ".max_ebook_holds")),
    "holds.count_cancelled": _g((_HOLDS, ".count_cancelled")),
    "holds.refuse_when_overdue_days": _g((_HOLDS, ".refuse_when_overdue_days")),
    "holds.excluded_material_types": _g((_HOLDS, "policy.excluded_material_types")),
    "holds.cancel_allowed_states": _g((_RULES, ".cancel_allowed_states")),
    "holds.modify_allowed_states": _g((_RULES, ".modify_allowed_states")),
    "holds.bookmobile_contact": _g((_RULES, ".bookmobile_contact")),
    "holds.transfers": _g(
        (_HOLDS, ".transfers"), note="where allowed, the ILS sends the copy to the pickup library"
    ),
    "holds.contact_methods": _g(
        (_RULES, "policy.contact_methods"),
        (_SETTINGS, ".contact_methods"),
        note="holds placed or changed, and the patron's default; the setting is kept by the"
        " gateway (no backend takes it)",
    ),
    "holds.pickup_extension.times": _g(
        (_EXTRAS, "rule.times"), note="the ILS extends (its own days and conditions)"
    ),
    "holds.skip_allowed": _g(
        (_EXTRAS, ".skip_allowed"), (_RULES, ".skip_allowed"), note="the ILS suspends the hold"
    ),
    "holds.sequences": _g(
        ("ils_gateway.services.mylists.sequences", ".holds.sequences"),
        note="kept by the gateway by suspending later holds in the ILS",
    ),
    "holds.or_holds_max": _g(
        ("ils_gateway.services.mylists.or_holds", ".holds.or_holds_max"),
        note="kept by the gateway: the other holds are cancelled once one is filled",
    ),
    "holds.cancelled_history_days": _g((_HISTORY, ".cancelled_history_days")),
    "holds.cancelled_history_deletable": _g((_HISTORY, ".cancelled_history_deletable")),
    "holds.ebook_cancelled_in_history": _g((_HISTORY, ".ebook_cancelled_in_history")),
    "ebooks.max_loans": _g((_EBOOKS, ".ebooks.max_loans"), note="the e-library enforces it too"),
    "ebooks.max_holds": _g((_EBOOKS, ".ebooks.max_holds"), note="the e-library enforces it too"),
    "lists.basket_size": _g(("ils_gateway.services.mylists.basket", ".basket_size")),
    "lists.max_shelves": _g((_SHELVES, ".max_shelves")),
    "lists.max_items_per_shelf": _g((_SHELVES, ".max_items_per_shelf")),
    "lists.comment_max_chars": _g((_SHELVES, ".comment_max_chars")),
    "email.max_addresses": _g((_SETTINGS, ".max_addresses")),
    **{
        f"email.{k}": _self(k, _EMAIL)
        for k in ("forbid_leading_symbol", "forbid_dot_before_at", "forbid_consecutive_dots")
    },
    "idle_timeout_minutes": _g((_ACCOUNT, ".idle_timeout_minutes")),
    **{f"maintenance.{k}": _self(k, _MAINTENANCE) for k in ("start", "end", "timezone")},
    "disabled_features": _self(
        "disabled_features", ("ils_gateway.services.context", ".feature_enabled(")
    ),
    "barcode_symbology": _g(("ils_gateway.api.handlers.session", ".barcode_symbology")),
    # fines and fees: where to pay (shown in GET …/patron/fees), and the thresholds, checked
    # before holds, renewals and self-check loans reach the ILS and listed as blocks
    "fees.payment": _g((_FEES, "policy.payment")),
    "fees.payment_en": _g((_FEES, "policy.payment_en")),
    **{
        f"fees.{k}": _g((_FEES, f"policy.{k}"), note="also listed in GET …/patron/fees")
        for k in ("holds_blocked_from", "renewals_blocked_from", "borrowing_blocked_from")
    },
}

# First registration and reset by e-mailed link (issue 18): services.account_lifecycle.
_LIFE = "ils_gateway.services.account_lifecycle"
RULES.update(
    {
        f"account.{k}": _g((_LIFE, f".{k}"))
        for k in (
            "registration_proofs",
            "reset_by_email",
            "reset_asks_email",
            "reset_link_minutes",
            "confirm_link_minutes",
            "reset_requests_per_card",
            "reset_requests_per_address",
        )
    }
)
PENDING: dict[str, str] = {}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_sequence(a) for a in typing.get_args(annotation))
    return origin in (tuple, list)


def policy_keys(model: type[BaseModel] = Policy, prefix: str = "") -> Iterator[str]:
    """Every leaf key of ``model`` (dotted; members of a list of tables as ``name[].key``)."""
    for name, field in model.model_fields.items():
        nested = _models_in(field.annotation)
        if nested:
            key = f"{prefix}{name}[]" if _is_sequence(field.annotation) else f"{prefix}{name}"
            for sub in nested:
                yield from policy_keys(sub, f"{key}.")
        else:
            yield f"{prefix}{name}"


def _values(obj: Any, key: str) -> list[tuple[str, Any]]:
    """``(shown key, value)`` for ``key`` in ``obj``: one per list member; none when unset."""
    head, _, rest = key.partition(".")
    many = head.endswith("[]")
    value = getattr(obj, head.removesuffix("[]"), None) if obj is not None else None
    if not rest:
        return [(head, value)]
    if value is None:
        return []
    if many:
        out: list[tuple[str, Any]] = []
        for i, limit in enumerate(value):
            label = getattr(limit, "name", None) or str(i)  # a hold limit's name
            out += [(f"{head[:-2]}[{label}].{k}", v) for k, v in _values(limit, rest)]
        return out
    return [(f"{head}.{k}", v) for k, v in _values(value, rest)]


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, StrEnum):
        return value.value
    return repr(value) if isinstance(value, str) else str(value)


def explain(policy: Policy) -> list[str]:
    """One line per rule of ``policy``: key, value and who enforces it (from ``RULES``)."""
    lines: list[str] = []
    for key in policy_keys():
        rule = RULES.get(key)
        if rule is not None:
            where = rule.where.value + (f" ({rule.note})" if rule.note else "")
        elif key in PENDING:
            where = f"not enforced yet ({PENDING[key]})"
        else:
            where = "NOT ENFORCED (no reader registered)"
        for shown, value in _values(policy, key):
            lines.append(f"policy.{shown} = {_show(value)}  -> {where}")
    return lines
