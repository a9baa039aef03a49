"""Patron settings the gateway keeps where the library system has no place for them.

E-mail 1 and 2 (each PC or mobile), which one gets hold notices, default pickup library, hold
contact method and the due-date reminder. Addresses follow the tenant's rules (Akiruno: no
leading symbol, no ``.`` right before ``@``, no two dots in a row) and the tenant's number of
addresses. The reading-history switch is changed only through ``ReadingHistoryService``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.errors import BadRequest
from ils_gateway.domain.vocab import Feature
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import store_errors
from ils_gateway.store.records import PatronSettings
from ils_gateway.store.store import Store

#: What a patron may change here (the history switch has its own service).
EDITABLE = frozenset(
    f.name for f in fields(PatronSettings) if not f.name.startswith("reading_history")
)


class PatronSettingsService:
    """Reads and changes a patron's settings, checking the tenant's rules first."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, ctx: PatronContext) -> PatronSettings:
        """The patron's settings (defaults when never saved)."""
        ctx.require(Feature.ACCOUNT_SETTINGS)
        return await self._store.settings.get(ctx.owner)

    async def update(
        self, ctx: PatronContext, backend: ILSBackend | None = None, **changes: Any
    ) -> PatronSettings:
        """Change the given fields, keep the others; every problem is reported at once.

        With ``backend``, a default pickup library must be one the library offers.
        """
        ctx.require(Feature.ACCOUNT_SETTINGS)
        unknown = set(changes) - EDITABLE
        if unknown:
            raise BadRequest(f"cannot change: {', '.join(sorted(unknown))}")
        current = await self._store.settings.get(ctx.owner)
        with store_errors():
            wanted = replace(current, **changes)
        problems = self._problems(ctx, wanted)
        if backend is not None and "default_pickup_library" in changes:
            problems += await _pickup_problems(backend, wanted.default_pickup_library)
        if problems:
            raise BadRequest("; ".join(problems))
        with store_errors():
            return await self._store.settings.save(ctx.owner, wanted)

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
        return found


async def _pickup_problems(backend: ILSBackend, code: str | None) -> list[str]:
    if code is None or not backend.capabilities.supports(Capability.LIST_PICKUP_LIBRARIES):
        return []
    libraries = await backend.list_pickup_libraries()
    codes = {lib.code for lib in libraries if not lib.bookmobile_stations}
    codes |= {s.code for lib in libraries for s in lib.bookmobile_stations}
    return [] if code in codes else ["default_pickup_library: not a pickup library"]
