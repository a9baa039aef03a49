"""An item's status as the adapters report it, as SIP2's circulation status code (18)."""

from __future__ import annotations

from ils_gateway.sip2.fields import CirculationStatus

__all__ = ["ON_LOAN", "circulation_status"]

# Statuses as adapters report them (SIP2 names, Koha and FOLIO words) → the 18's code.
_CIRCULATION = {
    "checked_out": CirculationStatus.CHARGED,
    "awaiting_pickup": CirculationStatus.WAITING_ON_HOLD_SHELF,
    "on_hold_shelf": CirculationStatus.WAITING_ON_HOLD_SHELF,
    "aged_to_lost": CirculationStatus.LOST,
    "declared_lost": CirculationStatus.LOST,
    "withdrawn": CirculationStatus.OTHER,
    "not_for_loan": CirculationStatus.OTHER,
}

ON_LOAN = frozenset(
    {
        CirculationStatus.CHARGED,
        CirculationStatus.CHARGED_NOT_TO_BE_RECALLED,
        CirculationStatus.RECALLED,
        CirculationStatus.CLAIMED_RETURNED,
    }
)
"""Statuses of a copy someone has borrowed (a claimed return is still a loan to settle)."""


def circulation_status(status: str | None) -> CirculationStatus:
    """The 18 code of an adapter's status text (01 other when unknown)."""
    key = (status or "").strip().lower().replace(" ", "_").replace("-", "_")
    if key in _CIRCULATION:
        return _CIRCULATION[key]
    try:
        return CirculationStatus[key.upper()]
    except KeyError:
        return CirculationStatus.OTHER
