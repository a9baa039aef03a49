"""Patron settings the gateway keeps where the library system has no place for them.

E-mail 1 and 2 (each PC or mobile), which one gets hold notices, default pickup library, hold
contact method and the due-date reminder. Addresses follow the tenant's rules (Akiruno: no
leading symbol, no ``.`` right before ``@``, no two dots in a row) and the tenant's number of
addresses. The default pickup library must be one of the tenant's pickup libraries (its file's
list, else the backend's), a bookmobile by one of its stations, and the hold contact method
must suit it (Saitama: bookmobile pickups by phone only), as when a hold is placed: the
defaults are used when a hold is placed without them (issue 16). The contact method must be
one the library offers (``holds.contact_methods``: Kanagawa e-mail or none). No backend has a
patron-level contact setting the gateway can write (SIP2 none; Koha's and FOLIO's are staff
data), so the setting is kept here and sent with each hold placed without one. The
reading-history switch is changed only through ``ReadingHistoryService``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Protocol, runtime_checkable

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.errors import BadRequest
from ils_gateway.domain.models import Library
from ils_gateway.domain.vocab import ContactMethod, Feature, RefusalReason
from ils_gateway.services import rules as house_rules
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import store_errors
from ils_gateway.store.records import PatronSettings
from ils_gateway.store.store import Store

#: What a patron may change here (the history switch has its own service).
EDITABLE = frozenset(
    f.name for f in fields(PatronSettings) if not f.name.startswith("reading_history")
)


@runtime_checkable
class PickupLibraries(Protocol):
    """Where a tenant's holds can be collected (``TenantContext`` is one)."""

    async def pickup_libraries(self) -> list[Library]:
        """The tenant's pickup libraries: its file's list, else the backend's."""
        ...


_PICKUP_PROBLEMS = {
    RefusalReason.INVALID_PICKUP_LIBRARY: "default_pickup_library: not a pickup library",
    RefusalReason.BOOKMOBILE_STOP_REQUIRED: (
        "default_pickup_library: a bookmobile is chosen by one of its stations"
    ),
    RefusalReason.BOOKMOBILE_CONTACT_PHONE_ONLY: (
        "hold_contact_method: pickups at a bookmobile station are notified by phone only"
    ),
}


class PatronSettingsService:
    """Reads and changes a patron's settings, checking the tenant's rules first."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, ctx: PatronContext) -> PatronSettings:
        """The patron's settings (defaults when never saved)."""
        ctx.require(Feature.ACCOUNT_SETTINGS)
        return await self._store.settings.get(ctx.owner)

    async def update(
        self,
        ctx: PatronContext,
        pickup: PickupLibraries | ILSBackend | None = None,
        **changes: Any,
    ) -> PatronSettings:
        """Change the given fields, keep the others; every problem is reported at once.

        With ``pickup`` (the tenant, or only its backend), a default pickup library must be
        one the library offers, and the hold contact method must suit it.
        """
        wanted = await self.check(ctx, pickup, **changes)
        with store_errors():
            return await self._store.settings.save(ctx.owner, wanted)

    async def check(
        self,
        ctx: PatronContext,
        pickup: PickupLibraries | ILSBackend | None = None,
        **changes: Any,
    ) -> PatronSettings:
        """The settings ``update`` would save, checked as it checks them, saving nothing (a
        caller with other writes to make first finds every problem before any of them)."""
        ctx.require(Feature.ACCOUNT_SETTINGS)
        unknown = set(changes) - EDITABLE
        if unknown:
            raise BadRequest(f"cannot change: {', '.join(sorted(unknown))}")
        current = await self._store.settings.get(ctx.owner)
        with store_errors():
            wanted = replace(current, **changes)
        problems = self._problems(ctx, wanted)
        pickup_keys = {"default_pickup_library", "hold_contact_method"}
        if pickup is not None and pickup_keys & set(changes):
            problems += await _pickup_problems(ctx, pickup, wanted)
        if problems:
            raise BadRequest("; ".join(problems))
        return wanted

    async def hold_defaults(self, ctx: PatronContext) -> tuple[str | None, ContactMethod | None]:
        """The saved default pickup library and hold contact method (None where unset), for a
        hold placed without them."""
        saved = await self._store.settings.get(ctx.owner)
        contact = saved.hold_contact_method
        return saved.default_pickup_library, (
            ContactMethod(contact.value) if contact is not None else None
        )

    @staticmethod
    def _problems(ctx: PatronContext, settings: PatronSettings) -> list[str]:
        rules = ctx.policy.email
        found: list[str] = []
        for name in ("email1", "email2"):
            address = getattr(settings, name)
            if address is None:
                continue
            found += [f"{name}: {p}" for p in rules.problems(address)]
        if settings.email2 is not None and rules.max_addresses < 2:
            found.append("email2: this library keeps one address only")
        if settings.email1 is None and settings.email2 is not None:
            found.append("email2: set email1 first")
        target = settings.hold_notice_to
        if target is not None and getattr(settings, target.value) is None:
            found.append(f"hold_notice_to: {target.value} is not set")
        contact = settings.hold_contact_method
        offered = ctx.policy.holds.contact_methods
        if contact is not None and ContactMethod(contact.value) not in offered:
            names = ", ".join(sorted(m.value for m in offered))
            found.append(f"hold_contact_method: this library offers {names}")
        return found


async def _pickup_problems(
    ctx: PatronContext, pickup: PickupLibraries | ILSBackend, settings: PatronSettings
) -> list[str]:
    code = settings.default_pickup_library
    if code is None:
        return []
    if isinstance(pickup, PickupLibraries):
        libraries = await pickup.pickup_libraries()
    elif pickup.capabilities.supports(Capability.LIST_PICKUP_LIBRARIES):
        libraries = await pickup.list_pickup_libraries()
    else:
        return []
    contact = settings.hold_contact_method
    reason = house_rules.pickup_refusal(
        ctx.policy.holds,
        libraries,
        pickup_library=code,
        contact_method=ContactMethod(contact.value) if contact is not None else None,
    )
    if reason is None or reason is RefusalReason.CONTACT_METHOD_NOT_OFFERED:  # said above
        return []
    return [_PICKUP_PROBLEMS.get(reason, f"default_pickup_library: {reason.value}")]
