"""What a SIP2 backend can do, declared from the ACS's own word: the BX flags of its 98.

The 16 BX flags name the requests the ACS supports, in the specification's order (patron
status, checkout, checkin, block patron, SC/ACS status, resend, login, patron information, end
patron session, fee paid, item information, item status update, patron enable, hold, renew,
renew all). A capability is declared only when every request it needs is flagged ``Y``.

SIP2 has no request to list pickup libraries, change a hold's contact method, suspend a hold
or change a password, so those are always unavailable. Changing a hold's pickup library is a
15 with mode ``*``, which BX cannot tell apart from ``+``/``-``: it is declared native when
holds are supported, unless the tenant says its ACS lacks it (``pickup_change="unavailable"``)
or opts in to re-placing the hold (``"replace"``: cancel then place, which loses the queue
position, hence declared emulated with that option).

``WHY_MISSING`` says, for ``Capabilities.require``, why a capability is missing: the BX flags
left it out, or SIP2 has no request for it.
"""

from __future__ import annotations

from typing import Literal

from ils_gateway.adapters.base import (
    Capabilities,
    Capability,
    CapabilitySupport,
    Support,
    Unavailable,
)
from ils_gateway.sip2.client import SUPPORTED_MESSAGE_ORDER

__all__ = [
    "BX_ORDER",
    "WHY_MISSING",
    "PickupChange",
    "capabilities_from_bx",
    "supported_requests",
]

PickupChange = Literal["native", "replace", "unavailable"]

BX_ORDER = SUPPORTED_MESSAGE_ORDER
"""Request codes behind the 16 BX flags, in the specification's order."""


WHY_MISSING: dict[Capability, Unavailable] = {
    **{
        c: Unavailable(
            f"SIP2 ACS: {c.value} unavailable (BX flags)",
            detail="This library system does not offer this online.",
        )
        for c in Capability
    },
    Capability.CHANGE_HOLD_CONTACT: Unavailable(
        "SIP2 has no field for a hold's contact method",
        detail="The contact method of a hold cannot be changed online here.",
    ),
    Capability.SUSPEND_HOLD: Unavailable("SIP2 cannot suspend holds"),
    Capability.LIST_PICKUP_LIBRARIES: Unavailable("SIP2 has no request listing pickup libraries"),
    Capability.CHANGE_PASSWORD: Unavailable("SIP2 has no password change request"),
}


def supported_requests(bx: str | None) -> frozenset[str]:
    """The request codes the BX field flags ``Y`` (missing trailing flags count as ``N``)."""
    flags = (bx or "").upper()
    return frozenset(code for i, code in enumerate(BX_ORDER) if i < len(flags) and flags[i] == "Y")


def capabilities_from_bx(
    bx: str | None,
    *,
    title_level_holds: bool = True,
    pickup_change: PickupChange = "native",
    lists_name_items: bool = True,
) -> Capabilities:
    """Capabilities of an ACS whose 98 carried ``bx``.

    ``lists_name_items`` is False when the ACS lists titles only (``list_mode = "title"``):
    without barcodes there is no 17 to ask for a loan's due date.
    """
    ok = supported_requests(bx)
    lists = {"63", "17"} <= ok  # lists come from 63, their details from one 17 per entry
    table: dict[Capability, CapabilitySupport | Support] = {}
    if "63" in ok or "23" in ok:
        table[Capability.AUTHENTICATE] = Support.NATIVE
    if "63" in ok:
        table[Capability.PATRON_SUMMARY] = Support.NATIVE
        # 63 with the "fine items" summary position: AV lines, BV total (adapters/sip2/fees)
        table[Capability.LIST_FEES] = Support.NATIVE
    if lists and lists_name_items:
        table[Capability.LIST_LOANS] = CapabilitySupport(Support.NATIVE, {"renewability": False})
    if lists:
        table[Capability.LIST_HOLDS] = CapabilitySupport(Support.NATIVE, {"queue_position": False})
    if "29" in ok:
        table[Capability.RENEW] = CapabilitySupport(Support.NATIVE, {"reasons": "screen_message"})
        table[Capability.RENEW_MANY] = Support.EMULATED  # one 29 per loan, in parallel
    elif "65" in ok:
        table[Capability.RENEW_MANY] = CapabilitySupport(Support.NATIVE, {"all_loans_only": True})
    if "15" in ok:
        table[Capability.PLACE_HOLD] = CapabilitySupport(
            Support.NATIVE, {"title_level": title_level_holds, "contact_method": False}
        )
        table[Capability.CANCEL_HOLD] = Support.NATIVE
        if pickup_change == "native":
            table[Capability.CHANGE_HOLD_PICKUP] = Support.NATIVE
        elif pickup_change == "replace":
            table[Capability.CHANGE_HOLD_PICKUP] = CapabilitySupport(
                Support.EMULATED, {"loses_queue_position": True}
            )
    if "17" in ok:
        table[Capability.GET_ITEM] = Support.NATIVE
    if "11" in ok:
        table[Capability.CHECKOUT] = Support.NATIVE
    if "09" in ok:
        table[Capability.CHECKIN] = Support.NATIVE
    return Capabilities(table, missing=WHY_MISSING)
