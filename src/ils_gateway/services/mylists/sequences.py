"""Hold sequences (順番予約): the patron's holds filled in the order they chose.

Rules (requirements §3): a sequence is made from, changed and dissolved only while every member
is waiting; hold n+1 is not filled before hold n has arrived (is on the pickup shelf or was
collected); a hold in a sequence cannot be cancelled until it leaves the sequence.

No backend orders holds for us (``ILSBackend`` has no such call), so the gateway does it by
*holding back*: every member after the first one that has not yet arrived is kept suspended in
the library system, and released (resumed) when the one before it arrives. A suspended hold is
passed over when copies are allocated, so a held-back member cannot be filled early, even when
it is first in its own queue. ``enforce`` does this for one patron from their current holds; it
runs whenever the gateway lists the patron's holds and from the periodic job
(``services.mylists.sequence_enforcement``). Without ``SUSPEND_HOLD`` the feature is unavailable.

Because held-back members are suspended only on the gateway's behalf, the holds list shows them
as ``waiting`` with their place in the sequence (the library's own status stays in
``backend_status``); the patron cannot skip (suspend) a member themselves.
"""

from __future__ import annotations

import builtins  # annotations after a method named ``list`` need the builtin by name
from collections.abc import Sequence
from dataclasses import dataclass

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import BadRequest, CancelRefused, FeatureDisabled, HoldRefused
from ils_gateway.domain.models import Hold, HoldSequenceInfo
from ils_gateway.domain.vocab import Feature, HoldStatus, ItemSource, RefusalReason
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import store_errors
from ils_gateway.services.rules import check_writes_allowed
from ils_gateway.store.records import HoldSequence, SequenceMember
from ils_gateway.store.store import Store

#: A member has "arrived" once its copy is on the pickup shelf; collected holds leave the list.
ARRIVED = frozenset({HoldStatus.READY, HoldStatus.FULFILLED})


@dataclass(frozen=True, slots=True)
class SequenceView:
    """A sequence with its members' current holds, in order (a member gone from the list: None)."""

    sequence: HoldSequence
    holds: tuple[Hold | None, ...]


class HoldSequenceService:
    """Creates, shrinks and dissolves hold sequences and keeps their order in the backend."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # --- patron actions -------------------------------------------------------------------

    async def create(
        self, ctx: PatronContext, backend: ILSBackend, hold_ids: Sequence[str]
    ) -> SequenceView:
        """Order ``hold_ids`` (at least two of the patron's waiting holds) into a sequence."""
        self._require(ctx, backend)
        check_writes_allowed(ctx.policy, self._clock())
        holds = {h.id: h for h in await self.annotate(ctx, await backend.list_holds(ctx.patron))}
        members: list[SequenceMember] = []
        for hold_id in hold_ids:
            hold = holds.get(hold_id)
            if hold is None or hold.source is not ItemSource.ILS:
                raise BadRequest(f"Hold {hold_id} is not one of your library holds")
            if hold.sequence is not None:
                raise HoldRefused(
                    RefusalReason.IN_SEQUENCE, f"Hold {hold_id} is already in a sequence"
                )
            if hold.status is not HoldStatus.WAITING:
                raise HoldRefused(
                    RefusalReason.NOT_MODIFIABLE_IN_STATE,
                    "A sequence can be made only while every hold in it is waiting",
                )
            members.append(SequenceMember(hold_id, hold.item.id))
        with store_errors():
            sequence = await self._store.sequences.create(ctx.owner, members)
        try:
            await self.enforce(ctx, backend)
        except Exception:
            # Leave nothing half-done: no sequence, and nothing held back on its account.
            await self._store.sequences.dissolve(ctx.owner, sequence.sequence_id)
            await self._release(ctx, backend, [m.hold_id for m in members])
            raise
        return await self.view(ctx, backend, sequence.sequence_id)

    async def remove(self, ctx: PatronContext, backend: ILSBackend, hold_id: str) -> None:
        """Take one hold out of its sequence (a sequence left with one hold is dissolved)."""
        self._require(ctx, backend)
        check_writes_allowed(ctx.policy, self._clock())
        sequence = await self._store.sequences.find_by_hold(ctx.owner, hold_id)
        if sequence is None:
            raise BadRequest(f"Hold {hold_id} is in no sequence")
        await self._check_all_waiting(ctx, backend, sequence)
        with store_errors():
            await self._store.sequences.remove_member(ctx.owner, hold_id)
        await self._release(ctx, backend, [hold_id])
        await self.enforce(ctx, backend)

    async def dissolve(self, ctx: PatronContext, backend: ILSBackend, sequence_id: str) -> None:
        """Undo a sequence: its holds stay and are no longer held back."""
        self._require(ctx, backend)
        check_writes_allowed(ctx.policy, self._clock())
        with store_errors():
            sequence = await self._store.sequences.get(ctx.owner, sequence_id)
        await self._check_all_waiting(ctx, backend, sequence)
        with store_errors():
            await self._store.sequences.dissolve(ctx.owner, sequence_id)
        await self._release(ctx, backend, [m.hold_id for m in sequence.members])

    async def list(self, ctx: PatronContext, backend: ILSBackend) -> list[SequenceView]:
        """The patron's sequences with their members' current holds."""
        ctx.require(Feature.HOLD_SEQUENCES)
        holds = {h.id: h for h in await self.enforce(ctx, backend)}
        return [
            SequenceView(s, tuple(holds.get(m.hold_id) for m in s.members))
            for s in await self._store.sequences.list(ctx.owner)
        ]

    async def view(self, ctx: PatronContext, backend: ILSBackend, sequence_id: str) -> SequenceView:
        """One sequence with its members' current holds."""
        for found in await self.list(ctx, backend):
            if found.sequence.sequence_id == sequence_id:
                return found
        with store_errors():
            await self._store.sequences.get(ctx.owner, sequence_id)  # raises NotFound
        raise AssertionError("unreachable")  # pragma: no cover

    async def check_cancel(self, ctx: PatronContext, hold_id: str) -> None:
        """Raise ``CancelRefused(in_sequence)`` when ``hold_id`` is in a sequence.

        The hold service calls this before cancelling: the hold must leave the sequence first.
        """
        if await self._store.sequences.find_by_hold(ctx.owner, hold_id) is not None:
            raise CancelRefused(
                RefusalReason.IN_SEQUENCE,
                "This hold is part of a hold sequence; remove it from the sequence first",
            )

    # --- keeping the order ----------------------------------------------------------------

    async def annotate(self, ctx: PatronContext, holds: Sequence[Hold]) -> builtins.list[Hold]:
        """``holds`` with each sequence member's place, held-back members shown as waiting."""
        sequences = await self._store.sequences.list(ctx.owner)
        by_id = {h.id: h for h in holds}
        info: dict[str, tuple[HoldSequence, int]] = {}
        for sequence in sequences:
            for position, member in enumerate(sequence.members, start=1):
                info[member.hold_id] = (sequence, position)
        out: list[Hold] = []
        for hold in holds:
            if hold.id not in info:
                out.append(hold)
                continue
            sequence, position = info[hold.id]
            update: dict[str, object] = {
                "sequence": HoldSequenceInfo(
                    sequence_id=sequence.sequence_id,
                    position=position,
                    length=len(sequence.members),
                )
            }
            if hold.status is HoldStatus.SUSPENDED and not _released(sequence, position, by_id):
                update["status"] = HoldStatus.WAITING
                update["suspended_until"] = None
            out.append(hold.model_copy(update=update))
        return out

    async def enforce(self, ctx: PatronContext, backend: ILSBackend) -> builtins.list[Hold]:
        """Bring the backend in line with the patron's sequences; return the annotated holds.

        Members that left the hold list (collected, cancelled or expired at the library) leave
        their sequence. Then, per sequence, members up to and including the first one that has
        not arrived are released (resumed if held back); later waiting members are held back
        (suspended until further notice).
        """
        holds = await backend.list_holds(ctx.patron)
        sequences = await self._store.sequences.list(ctx.owner)
        if not sequences:
            return list(holds)
        by_id = {h.id: h for h in holds}
        for sequence in sequences:
            for member in sequence.members:
                hold = by_id.get(member.hold_id)
                if hold is None or not hold.status.is_active:
                    await self._store.sequences.remove_member(ctx.owner, member.hold_id)
        changed = False
        sequences_now = await self._store.sequences.list(ctx.owner)
        # A sequence left with one hold is dissolved: that hold is no longer held back.
        still_ordered = {m.hold_id for s in sequences_now for m in s.members}
        for sequence in sequences:
            for member in sequence.members:
                hold = by_id.get(member.hold_id)
                if (
                    member.hold_id not in still_ordered
                    and hold is not None
                    and hold.status is HoldStatus.SUSPENDED
                ):
                    await backend.resume_hold(ctx.patron, hold.id)
                    changed = True
        for sequence in sequences_now:
            for position, member in enumerate(sequence.members, start=1):
                hold = by_id[member.hold_id]
                released = _released(sequence, position, by_id)
                if released and hold.status is HoldStatus.SUSPENDED:
                    await backend.resume_hold(ctx.patron, hold.id)
                    changed = True
                elif not released and hold.status is HoldStatus.WAITING:
                    await backend.suspend_hold(ctx.patron, hold.id, None)
                    changed = True
        if changed:
            holds = await backend.list_holds(ctx.patron)
        return await self.annotate(ctx, holds)

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _require(ctx: PatronContext, backend: ILSBackend) -> None:
        ctx.require(Feature.HOLD_SEQUENCES)
        if not ctx.policy.holds.sequences:
            raise FeatureDisabled(Feature.HOLD_SEQUENCES, ctx.channel)
        if not backend.capabilities.supports(Capability.SUSPEND_HOLD):
            raise FeatureDisabled(
                Feature.HOLD_SEQUENCES,
                ctx.channel,
                operator_detail="hold sequences need SUSPEND_HOLD to hold later members back",
            )

    async def _check_all_waiting(
        self, ctx: PatronContext, backend: ILSBackend, sequence: HoldSequence
    ) -> None:
        holds = {h.id: h for h in await self.annotate(ctx, await backend.list_holds(ctx.patron))}
        for member in sequence.members:
            hold = holds.get(member.hold_id)
            if hold is not None and hold.status is not HoldStatus.WAITING:
                raise HoldRefused(
                    RefusalReason.NOT_MODIFIABLE_IN_STATE,
                    "A sequence can be changed only while every hold in it is waiting",
                )

    @staticmethod
    async def _release(ctx: PatronContext, backend: ILSBackend, hold_ids: Sequence[str]) -> None:
        holds = {h.id: h for h in await backend.list_holds(ctx.patron)}
        for hold_id in hold_ids:
            hold = holds.get(hold_id)
            if hold is not None and hold.status is HoldStatus.SUSPENDED:
                await backend.resume_hold(ctx.patron, hold_id)


def _released(sequence: HoldSequence, position: int, holds: dict[str, Hold]) -> bool:
    """True when every member before ``position`` (1-based) has arrived."""
    for member in sequence.members[: position - 1]:
        hold = holds.get(member.hold_id)
        if hold is not None and hold.status not in ARRIVED:
            return False
    return True
