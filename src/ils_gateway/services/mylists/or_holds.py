"""OR-holds (いずれか予約): holds on several records (editions of one work, say) of which the
patron wants any one (issue 19).

No backend keeps such a group (``ILSBackend`` places single holds), so the gateway does: a
group is placed as one hold per record through the catalogue's record-hold path
(``CatalogService.place_hold``), all or nothing, and kept in the store. Once one hold of a group
is *filled* — a copy is on its way to the pickup library, being shelved, on the pickup shelf or
collected — the gateway cancels the group's other holds in the library system and forgets the
group. ``enforce`` does this for one patron from their current holds; it runs whenever the
gateway lists the patron's holds and from the periodic job (``sequence_enforcement``).

A tenant offers OR-holds with ``[tenants.policy.holds] or_holds_max`` (the most records in one
group, at least 2); 0 (the default) means not offered: ``FeatureDisabled(or_holds)``. Every
hold the backend answers is checked against the patron's own hold list before it joins a
group, and only holds in the patron's own list are ever cancelled.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import BackendUnavailable, BadRequest, FeatureDisabled, HoldRefused
from ils_gateway.domain.models import Hold, HoldResult
from ils_gateway.domain.vocab import Feature, HoldStatus, Outcome, RefusalReason
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import store_errors
from ils_gateway.services.rules import check_writes_allowed
from ils_gateway.store.records import OrHoldGroup, OrHoldMember
from ils_gateway.store.store import Store

log = structlog.get_logger(__name__)

#: A hold is filled once a copy is set aside for it: in transit to the pickup library,
#: being shelved there, on the pickup shelf, or collected.
FILLED = frozenset(
    {HoldStatus.IN_TRANSIT, HoldStatus.PREPARING, HoldStatus.READY, HoldStatus.FULFILLED}
)
#: Longest record id accepted (as the catalogue's).
RECORD_ID_MAX = 100

PlaceHold = Callable[[str], Awaitable[HoldResult]]


@dataclass(frozen=True, slots=True)
class OrHoldView:
    """A group with its members' current holds, in order (a member gone from the list: None)."""

    group: OrHoldGroup
    holds: tuple[Hold | None, ...]


@dataclass(frozen=True, slots=True)
class OrHoldEnforcement:
    """What one ``enforce`` did: the groups cleared (one filled) and the holds cancelled."""

    holds: builtins.list[Hold]
    cleared: int = 0
    cancelled: int = 0


class OrHoldService:
    """Places, lists and cancels OR-hold groups, and clears a group once one hold is filled."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # --- checks before any I/O ------------------------------------------------------------

    @staticmethod
    def require(ctx: PatronContext) -> int:
        """Raise ``FeatureDisabled`` unless the tenant offers OR-holds; the group size limit."""
        ctx.require(Feature.OR_HOLDS)
        limit = ctx.policy.holds.or_holds_max
        if limit < 2:
            raise FeatureDisabled(
                Feature.OR_HOLDS,
                ctx.channel,
                operator_detail="[tenants.policy.holds] or_holds_max is below 2",
            )
        return limit

    @classmethod
    def check_records(cls, ctx: PatronContext, record_ids: Sequence[str]) -> builtins.list[str]:
        """The record ids, checked: 2..or_holds_max distinct, well-formed ids."""
        limit = cls.require(ctx)
        ids = [r.strip() for r in record_ids]
        if len(ids) < 2:
            raise BadRequest("record_ids: give at least 2 records")
        if len(ids) > limit:
            raise BadRequest(f"record_ids: at most {limit} records in one OR-hold")
        for record_id in ids:
            if not record_id or len(record_id) > RECORD_ID_MAX or not record_id.isprintable():
                raise BadRequest(f"record_ids: {record_id[:RECORD_ID_MAX]!r} is not a record id")
        if len(set(ids)) != len(ids):
            raise BadRequest("record_ids: a record is given twice")
        return ids

    # --- patron actions -------------------------------------------------------------------

    async def create(
        self,
        ctx: PatronContext,
        backend: ILSBackend,
        record_ids: Sequence[str],
        pickup_library: str,
        place: PlaceHold,
    ) -> OrHoldView:
        """Place a hold on every record (all or nothing) and keep them as one group."""
        ids = self.check_records(ctx, record_ids)
        self._require_cancel(ctx, backend)
        check_writes_allowed(ctx.policy, self._clock())
        before = {h.id for h in await backend.list_holds(ctx.patron)}
        placed: list[tuple[str, Hold]] = []
        members: list[OrHoldMember] = []
        try:
            for record_id in ids:
                result = await place(record_id)
                if result.outcome is not Outcome.OK or result.hold is None:
                    raise HoldRefused(
                        result.reason or RefusalReason.UNKNOWN,
                        result.detail or f"record_ids: the hold on {record_id} was not placed",
                    )
                placed.append((record_id, result.hold))
            # The backend's answers, checked against the patron's own list: each placed hold
            # is a new hold there (a SIP2 ACS lists a title hold under the title, not the id
            # the placing answered with).
            new = [h for h in await backend.list_holds(ctx.patron) if h.id not in before]
            for record_id, answered in placed:
                listed = _match(answered, new)
                if listed is None:
                    raise BackendUnavailable(
                        operator_detail=f"placed hold {answered.id} is not in the patron's list"
                    )
                new.remove(listed)
                members.append(OrHoldMember(record_id, listed.id, listed.item.title or None))
            with store_errors():
                group = await self._store.or_holds.create(ctx.owner, members, pickup_library)
        except Exception:
            taken = [m.hold_id for m in members] or [h.id for _, h in placed]
            await self._cancel(ctx, backend, taken, keep=before)
            raise
        return await self.view(ctx, backend, group.group_id)

    async def list(self, ctx: PatronContext, backend: ILSBackend) -> builtins.list[OrHoldView]:
        """The patron's groups (after clearing any that were filled) with their current holds."""
        self.require(ctx)
        holds = {h.id: h for h in (await self.enforce(ctx, backend)).holds}
        return [
            OrHoldView(g, tuple(holds.get(m.hold_id) for m in g.members))
            for g in await self._store.or_holds.list(ctx.owner)
        ]

    async def view(self, ctx: PatronContext, backend: ILSBackend, group_id: str) -> OrHoldView:
        """One group with its members' current holds."""
        with store_errors():
            group = await self._store.or_holds.get(ctx.owner, group_id)
        holds = {h.id: h for h in await backend.list_holds(ctx.patron)}
        return OrHoldView(group, tuple(holds.get(m.hold_id) for m in group.members))

    async def cancel(self, ctx: PatronContext, backend: ILSBackend, group_id: str) -> int:
        """Cancel the group's remaining holds and forget it; how many holds were cancelled."""
        self.require(ctx)
        self._require_cancel(ctx, backend)
        check_writes_allowed(ctx.policy, self._clock())
        with store_errors():
            group = await self._store.or_holds.get(ctx.owner, group_id)
        cancelled = await self._cancel(ctx, backend, [m.hold_id for m in group.members])
        with store_errors():
            await self._store.or_holds.dissolve(ctx.owner, group_id)
        return cancelled

    # --- keeping the groups ---------------------------------------------------------------

    async def enforce(self, ctx: PatronContext, backend: ILSBackend) -> OrHoldEnforcement:
        """Clear every group one of whose holds is filled (cancelling the others); forget
        members that left the hold list (a group left with one record is dropped)."""
        holds = await backend.list_holds(ctx.patron)
        groups = await self._store.or_holds.list(ctx.owner)
        if not groups:
            return OrHoldEnforcement(list(holds))
        by_id = {h.id: h for h in holds}
        grouped = {m.hold_id for g in groups for m in g.members}
        cleared = cancelled = 0
        ended: list[str] = []
        loaned: set[str] | None = None  # titles on loan to the patron, read when needed
        for group in groups:
            current = [
                (m, by_id.get(m.hold_id) or _renamed(m, holds, grouped)) for m in group.members
            ]
            filled = [h.id for _, h in current if h is not None and h.status in FILLED]
            vanished = [m for m, h in current if h is None and m.title]
            if not filled and vanished:
                # Collected before it was seen filled: its title is now on loan to the patron.
                if loaned is None:
                    loans = await backend.list_loans(ctx.patron)
                    loaned = {loan.item.title for loan in loans if loan.item.title}
                if any(m.title in loaned for m in vanished):
                    filled = [m.hold_id for m in vanished if m.title in loaned]
            if filled:
                others = [h.id for m, h in current if h is not None and h.id not in filled]
                cancelled += await self._cancel(ctx, backend, others, holds=holds)
                with store_errors():
                    await self._store.or_holds.dissolve(ctx.owner, group.group_id)
                cleared += 1
                log.info("or-hold filled", tenant=ctx.tenant.id, cancelled=len(others))
            else:
                ended += [m.hold_id for m, h in current if h is None or not h.status.is_active]
        if ended:
            await self._store.or_holds.remove_members(ctx.owner, ended)
        if cancelled:
            holds = await backend.list_holds(ctx.patron)
        return OrHoldEnforcement(list(holds), cleared, cancelled)

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _require_cancel(ctx: PatronContext, backend: ILSBackend) -> None:
        if not backend.capabilities.supports(Capability.CANCEL_HOLD):
            raise FeatureDisabled(
                Feature.OR_HOLDS,
                ctx.channel,
                operator_detail="OR-holds need CANCEL_HOLD to cancel the others",
            )

    @staticmethod
    async def _cancel(
        ctx: PatronContext,
        backend: ILSBackend,
        hold_ids: Sequence[str],
        *,
        keep: set[str] | frozenset[str] = frozenset(),
        holds: Sequence[Hold] | None = None,
    ) -> int:
        """Cancel those of ``hold_ids`` that are active in the patron's own list (never one
        in ``keep``); how many."""
        if not hold_ids:
            return 0
        listed = holds if holds is not None else await backend.list_holds(ctx.patron)
        mine = {h.id: h for h in listed}
        done = 0
        for hold_id in hold_ids:
            hold = mine.get(hold_id)
            if hold is None or hold_id in keep or not hold.status.is_active:
                continue
            await backend.cancel_hold(ctx.patron, hold_id)
            done += 1
        return done


def _match(answered: Hold, new: builtins.list[Hold]) -> Hold | None:
    """The hold of the patron's list that ``answered`` (what placing returned) is: the same
    id, else the one new hold on the same item, else the one on the same title."""
    keys: tuple[Callable[[Hold], str | None], ...] = (
        lambda h: h.id,
        lambda h: h.item.id,
        lambda h: h.item.title or None,
    )
    for key in keys:
        wanted = key(answered)
        found = [h for h in new if wanted is not None and key(h) == wanted]
        if len(found) == 1:
            return found[0]
    return None


def _renamed(member: OrHoldMember, holds: Sequence[Hold], grouped: set[str]) -> Hold | None:
    """The hold ``member`` became once filled, where the backend lists it under a new id (a SIP2
    ACS lists a title hold as ``title:N`` while it waits and under the copy set aside for it
    once found): the one filled hold of the member's title that is in no group."""
    if not member.title:
        return None
    found = [
        h
        for h in holds
        if h.id not in grouped and h.status in FILLED and h.item.title == member.title
    ]
    return found[0] if len(found) == 1 else None
