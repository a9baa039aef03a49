"""Cancelled-hold history: holds the gateway saw cancelled or expired, kept for a while.

The tenant says how long (``holds.cancelled_history_days``: Akiruno 7 … Saitama 180; None =
the gateway keeps nothing), whether patrons may delete entries, and whether cancelled e-book
holds are kept (Saitama: not). Entries older than the retention are hidden at once and removed
by ``purge`` (the ``purge_cancelled_holds`` job, ``ils_gateway.jobs.registry``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import FeatureDisabled, NotFound
from ils_gateway.domain.models import Hold
from ils_gateway.domain.vocab import Feature, HoldStatus, ItemSource
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.store.records import CancelledHold, CancelReason
from ils_gateway.store.store import Store
from ils_gateway.tenants.models import TenantConfig

_REASONS = {HoldStatus.CANCELLED: CancelReason.CANCELLED, HoldStatus.EXPIRED: CancelReason.EXPIRED}


def retention_cutoff(tenant: TenantConfig, now: datetime) -> datetime | None:
    """Entries from before this moment are past the tenant's retention (None: keep nothing)."""
    days = tenant.policy.holds.cancelled_history_days
    return None if days is None else now - timedelta(days=days)


class CancelledHoldService:
    """Records what the gateway sees cancelled or expired; lists, deletes and purges it."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def observe(self, ctx: PatronContext, holds: Iterable[Hold]) -> int:
        """Keep the cancelled and expired holds among ``holds``; returns how many were new."""
        if ctx.policy.holds.cancelled_history_days is None:
            return 0
        added = 0
        for hold in holds:
            reason = _REASONS.get(hold.status)
            if reason is not None and await self.record(ctx, hold, reason):
                added += 1
        return added

    async def record(self, ctx: PatronContext, hold: Hold, reason: CancelReason) -> bool:
        """Keep one hold that ended (e.g. one the patron just cancelled through the gateway)."""
        policy = ctx.policy.holds
        if policy.cancelled_history_days is None:
            return False
        if hold.source is ItemSource.EBOOK and not policy.ebook_cancelled_in_history:
            return False
        by = hold.ended_by.value if hold.ended_by is not None else None
        at = hold.ended_at if hold.ended_at is not None else self._clock()
        entry = CancelledHold(hold.id, hold.item.title, reason, at, by)
        return await self._store.cancelled_holds.record(ctx.owner, entry)

    async def list(self, ctx: PatronContext) -> list[CancelledHold]:
        """The patron's entries within the retention period, newest first."""
        ctx.require(Feature.HOLDS)
        cutoff = retention_cutoff(ctx.tenant, self._clock())
        if cutoff is None:
            return []
        return [e for e in await self._store.cancelled_holds.list(ctx.owner) if e.at >= cutoff]

    async def delete(self, ctx: PatronContext, hold_id: str) -> None:
        """Delete one entry, where the tenant lets patrons do so."""
        ctx.require(Feature.HOLDS)
        if not ctx.policy.holds.cancelled_history_deletable:
            raise FeatureDisabled("cancelled_hold_history_delete", ctx.channel)
        if not await self._store.cancelled_holds.delete(ctx.owner, hold_id):
            raise NotFound("No such entry")

    async def purge(self, tenants: Iterable[TenantConfig]) -> dict[str, int]:
        """Delete every tenant's entries past its retention; returns how many per tenant.

        A tenant that keeps nothing (no retention set) loses everything it may still hold.
        """
        now = self._clock()
        purged: dict[str, int] = {}
        for tenant in tenants:
            cutoff = retention_cutoff(tenant, now) or now
            purged[tenant.id] = await self._store.cancelled_holds.purge_older_than(
                tenant.id, cutoff
            )
        return purged
