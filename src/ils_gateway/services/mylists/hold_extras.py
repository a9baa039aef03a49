"""Pickup-shelf extension (取置期限延長) and hold skip (予約取置スキップ).

Both go through the library system where it can do them and are refused with a reason where it
cannot; the tenant's rules are checked first so a refusal the gateway can name costs no round
trip. ``ILSBackend`` has no extension call, so a backend that can extend implements the optional
``PickupExtender`` protocol (the simulator and its faces can; Koha's REST API has no such
endpoint, SIP2 none either): without it the extension is refused as ``extension_not_allowed``
with a patron-readable explanation.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import BadRequest, FeatureDisabled, HoldRefused, NotFound
from ils_gateway.domain.models import Hold, Patron
from ils_gateway.domain.vocab import Feature, HoldStatus, ItemSource, RefusalReason
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.rules import check_writes_allowed
from ils_gateway.store.store import Store


@runtime_checkable
class PickupExtender(Protocol):
    """A backend that can keep a ready hold on the pickup shelf longer."""

    async def extend_pickup(self, patron: Patron, hold_id: str) -> Hold:
        """Extend the pickup deadline once; raises ``HoldRefused`` when the library says no."""
        ...


class HoldExtrasService:
    """Extends pickup deadlines and skips (suspends) or resumes holds, per the tenant's rules."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def extend_pickup(self, ctx: PatronContext, backend: ILSBackend, hold_id: str) -> Hold:
        """Keep a ready hold on the shelf longer: once, only if nobody else waits (the library
        checks that), by the tenant's number of days."""
        ctx.require(Feature.PICKUP_EXTENSION)
        rule = ctx.policy.holds.pickup_extension
        if rule is None:
            raise FeatureDisabled(Feature.PICKUP_EXTENSION, ctx.channel)
        check_writes_allowed(ctx.policy, self._clock())
        hold = await _own_hold(ctx, backend, hold_id)
        if hold.status is not HoldStatus.READY:
            raise HoldRefused(
                RefusalReason.EXTENSION_NOT_ALLOWED,
                "Only a hold waiting on the pickup shelf can be extended",
            )
        if hold.pickup_extended and rule.times <= 1:
            raise HoldRefused(
                RefusalReason.EXTENSION_NOT_ALLOWED, "The pickup deadline was already extended"
            )
        if not isinstance(backend, PickupExtender):
            raise HoldRefused(
                RefusalReason.EXTENSION_NOT_ALLOWED,
                "The pickup deadline cannot be extended online; please contact the library",
                operator_detail="the backend offers no pickup extension",
            )
        return await backend.extend_pickup(ctx.patron, hold_id)

    async def skip(
        self, ctx: PatronContext, backend: ILSBackend, hold_id: str, until: date
    ) -> Hold:
        """Pass the patron's turn until ``until``; the hold comes back at the top afterwards."""
        self._require_skip(ctx, backend)
        today = self._clock().astimezone(ctx.timezone).date()
        if until <= today:
            raise BadRequest("The skip must end after today")
        hold = await _own_hold(ctx, backend, hold_id)
        await self._refuse_in_sequence(ctx, hold_id)
        if hold.status is not HoldStatus.WAITING:
            raise HoldRefused(
                RefusalReason.NOT_MODIFIABLE_IN_STATE, "Only a waiting hold can be skipped"
            )
        return await backend.suspend_hold(ctx.patron, hold_id, until)

    async def resume(self, ctx: PatronContext, backend: ILSBackend, hold_id: str) -> Hold:
        """End a skip early; the hold goes back to the top of its queue."""
        self._require_skip(ctx, backend)
        hold = await _own_hold(ctx, backend, hold_id)
        await self._refuse_in_sequence(ctx, hold_id)
        if hold.status is not HoldStatus.SUSPENDED:
            raise HoldRefused(RefusalReason.NOT_MODIFIABLE_IN_STATE, "This hold is not skipped")
        return await backend.resume_hold(ctx.patron, hold_id)

    def _require_skip(self, ctx: PatronContext, backend: ILSBackend) -> None:
        ctx.require(Feature.HOLD_SKIP)
        if not ctx.policy.holds.skip_allowed:
            raise FeatureDisabled(Feature.HOLD_SKIP, ctx.channel)
        if not backend.capabilities.supports(Capability.SUSPEND_HOLD):
            raise FeatureDisabled(
                Feature.HOLD_SKIP, ctx.channel, operator_detail="backend cannot suspend holds"
            )
        check_writes_allowed(ctx.policy, self._clock())

    async def _refuse_in_sequence(self, ctx: PatronContext, hold_id: str) -> None:
        # A sequence keeps its later members suspended itself; a patron skip would fight it.
        if await self._store.sequences.find_by_hold(ctx.owner, hold_id) is not None:
            raise HoldRefused(
                RefusalReason.IN_SEQUENCE,
                "This hold is part of a hold sequence; remove it from the sequence first",
            )


async def _own_hold(ctx: PatronContext, backend: ILSBackend, hold_id: str) -> Hold:
    for hold in await backend.list_holds(ctx.patron):
        if hold.id == hold_id and hold.source is ItemSource.ILS:
            return hold
    raise NotFound("No such hold")
