"""Hold sequences (順番予約): the order in which the patron wants several holds filled.

The store keeps the order; ``services/`` decides when a sequence may be set or changed
(only while every member is waiting) and holds later members back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import HoldAlreadyInSequence, InvalidValue, SequenceNotFound
from ils_gateway.store.records import HoldSequence, PatronRef, SequenceMember
from ils_gateway.store.schema import hold_sequence_members, hold_sequences

#: A sequence orders holds; fewer than two orders nothing.
MIN_MEMBERS = 2


class HoldSequenceRepository:
    """Creates, reads, shrinks and dissolves a patron's hold sequences."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create(self, owner: PatronRef, members: Sequence[SequenceMember]) -> HoldSequence:
        """Make a sequence of ``members`` in the given order."""
        hold_ids = [m.hold_id for m in members]
        if len(members) < MIN_MEMBERS:
            raise InvalidValue("members", f"a sequence needs at least {MIN_MEMBERS} holds")
        if len(set(hold_ids)) != len(hold_ids):
            raise InvalidValue("members", "a hold appears twice")
        m = hold_sequence_members
        sequence_id = uuid.uuid4().hex
        created_at = self._clock()
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "sequences")
            taken = await conn.scalar(
                select(m.c.hold_id).where(owned_by(m, owner), m.c.hold_id.in_(hold_ids)).limit(1)
            )
            if taken is not None:
                raise HoldAlreadyInSequence(f"hold {taken} is already in a sequence")
            await conn.execute(
                hold_sequences.insert().values(
                    sequence_id=sequence_id, **owner_values(owner), created_at=created_at
                )
            )
            await conn.execute(
                m.insert(),
                [
                    {
                        "sequence_id": sequence_id,
                        **owner_values(owner),
                        "position": position,
                        "hold_id": member.hold_id,
                        "item_id": member.item_id,
                    }
                    for position, member in enumerate(members)
                ],
            )
        return HoldSequence(sequence_id, tuple(members), created_at)

    async def get(self, owner: PatronRef, sequence_id: str) -> HoldSequence:
        """One sequence of the patron's."""
        found = await self._load(owner, sequence_id)
        if found is None:
            raise SequenceNotFound(sequence_id)
        return found

    async def list(self, owner: PatronRef) -> list[HoldSequence]:
        """All the patron's sequences, oldest first."""
        s, m = hold_sequences, hold_sequence_members
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(s.c.sequence_id, s.c.created_at, m.c.hold_id, m.c.item_id)
                .join(m, m.c.sequence_id == s.c.sequence_id)
                .where(owned_by(s, owner))
                .order_by(s.c.created_at, s.c.sequence_id, m.c.position)
            )
            grouped: dict[str, tuple[datetime, list[SequenceMember]]] = {}
            for r in rows:
                grouped.setdefault(r.sequence_id, (r.created_at, []))[1].append(
                    SequenceMember(r.hold_id, r.item_id)
                )
        return [HoldSequence(sid, tuple(ms), at) for sid, (at, ms) in grouped.items()]

    async def find_by_hold(self, owner: PatronRef, hold_id: str) -> HoldSequence | None:
        """The sequence ``hold_id`` belongs to, if any (a hold must leave it before cancelling)."""
        m = hold_sequence_members
        async with self._db.read() as conn:
            sequence_id = await conn.scalar(
                select(m.c.sequence_id).where(owned_by(m, owner), m.c.hold_id == hold_id)
            )
        return None if sequence_id is None else await self._load(owner, sequence_id)

    async def remove_member(self, owner: PatronRef, hold_id: str) -> HoldSequence | None:
        """Take ``hold_id`` out of its sequence, keeping the others in order.

        Returns the shortened sequence, or None when fewer than two holds were left and the
        sequence was dissolved. Raises ``SequenceNotFound`` when the hold is in no sequence.
        """
        m = hold_sequence_members
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    select(m.c.sequence_id, m.c.position).where(
                        owned_by(m, owner), m.c.hold_id == hold_id
                    )
                )
            ).first()
            if row is None:
                raise SequenceNotFound(f"hold {hold_id} is in no sequence")
            await conn.execute(
                delete(m).where(m.c.sequence_id == row.sequence_id, m.c.position == row.position)
            )
            remaining = list(
                (
                    await conn.execute(
                        select(m.c.position)
                        .where(m.c.sequence_id == row.sequence_id)
                        .order_by(m.c.position)
                    )
                ).scalars()
            )
            if len(remaining) < MIN_MEMBERS:
                await conn.execute(
                    delete(hold_sequences).where(hold_sequences.c.sequence_id == row.sequence_id)
                )
                return None
            # Close the gap one row at a time, lowest first, so (sequence, position) stays unique.
            for new_position, old_position in enumerate(remaining):
                if new_position != old_position:
                    await conn.execute(
                        update(m)
                        .where(m.c.sequence_id == row.sequence_id, m.c.position == old_position)
                        .values(position=new_position)
                    )
        return await self._load(owner, row.sequence_id)

    async def dissolve(self, owner: PatronRef, sequence_id: str) -> None:
        """Remove the whole sequence (its holds stay; they are just no longer ordered)."""
        s = hold_sequences
        if not await self._db.delete_owned(s, owner, s.c.sequence_id == sequence_id):
            raise SequenceNotFound(sequence_id)

    async def _load(self, owner: PatronRef, sequence_id: str) -> HoldSequence | None:
        s, m = hold_sequences, hold_sequence_members
        async with self._db.read() as conn:
            created_at = await conn.scalar(
                select(s.c.created_at).where(owned_by(s, owner), s.c.sequence_id == sequence_id)
            )
            if created_at is None:
                return None
            rows = await conn.execute(
                select(m.c.hold_id, m.c.item_id)
                .where(m.c.sequence_id == sequence_id)
                .order_by(m.c.position)
            )
            members = tuple(SequenceMember(r.hold_id, r.item_id) for r in rows)
        return HoldSequence(sequence_id, members, created_at)
