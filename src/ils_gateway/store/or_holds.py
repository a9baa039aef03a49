"""OR-holds (いずれか予約): groups of holds on several records of which the patron wants one.

The store keeps which holds make a group; ``services.mylists.or_holds`` places them and cancels
the others once one is filled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.errors import AlreadyPresent, InvalidValue, OrHoldGroupNotFound
from ils_gateway.store.records import OrHoldGroup, OrHoldMember, PatronRef
from ils_gateway.store.schema import or_hold_members

#: A group offers a choice; one record offers none.
MIN_MEMBERS = 2


class OrHoldRepository:
    """Creates, reads and removes a patron's OR-hold groups."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, owner: PatronRef, members: Sequence[OrHoldMember], pickup_library: str
    ) -> OrHoldGroup:
        """Keep ``members`` (their holds already placed) as one group."""
        if len(members) < MIN_MEMBERS:
            raise InvalidValue("record_ids", f"a group needs at least {MIN_MEMBERS} records")
        if len({m.hold_id for m in members}) != len(members):
            raise InvalidValue("record_ids", "two records gave the same hold")
        group_id = uuid.uuid4().hex
        created_at = self._clock()
        m = or_hold_members
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "or_holds")
            taken = await conn.scalar(
                select(m.c.hold_id)
                .where(owned_by(m, owner), m.c.hold_id.in_([x.hold_id for x in members]))
                .limit(1)
            )
            if taken is not None:
                raise AlreadyPresent(f"hold {taken} is already in an OR-hold")
            await conn.execute(
                m.insert(),
                [
                    {
                        "group_id": group_id,
                        **owner_values(owner),
                        "position": position,
                        "record_id": member.record_id,
                        "hold_id": member.hold_id,
                        "title": member.title,
                        "pickup_library": pickup_library,
                        "created_at": created_at,
                    }
                    for position, member in enumerate(members)
                ],
            )
        return OrHoldGroup(group_id, tuple(members), pickup_library, created_at)

    async def list(self, owner: PatronRef) -> list[OrHoldGroup]:
        """All the patron's groups, oldest first."""
        m = or_hold_members
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(m)
                .where(owned_by(m, owner))
                .order_by(m.c.created_at, m.c.group_id, m.c.position)
            )
            grouped: dict[str, tuple[str, datetime, list[OrHoldMember]]] = {}
            for r in rows:
                grouped.setdefault(r.group_id, (r.pickup_library, r.created_at, []))[2].append(
                    OrHoldMember(r.record_id, r.hold_id, r.title)
                )
        return [
            OrHoldGroup(gid, tuple(ms), pickup, at) for gid, (pickup, at, ms) in grouped.items()
        ]

    async def get(self, owner: PatronRef, group_id: str) -> OrHoldGroup:
        """One group of the patron's."""
        for group in await self.list(owner):
            if group.group_id == group_id:
                return group
        raise OrHoldGroupNotFound(group_id)

    async def remove_members(self, owner: PatronRef, hold_ids: Sequence[str]) -> None:
        """Forget these holds' membership (they ended); a group left with one is dropped."""
        if not hold_ids:
            return
        m = or_hold_members
        async with self._db.write() as conn:
            await conn.execute(delete(m).where(owned_by(m, owner), m.c.hold_id.in_(hold_ids)))
            rows = await conn.execute(
                select(m.c.group_id)
                .where(owned_by(m, owner))
                .group_by(m.c.group_id)
                .having(func.count() < MIN_MEMBERS)
            )
            lone = [r.group_id for r in rows]
            if lone:
                await conn.execute(delete(m).where(owned_by(m, owner), m.c.group_id.in_(lone)))

    async def dissolve(self, owner: PatronRef, group_id: str) -> None:
        """Forget the group (what happens to its holds is the service's business)."""
        m = or_hold_members
        if not await self._db.delete_owned(m, owner, m.c.group_id == group_id):
            raise OrHoldGroupNotFound(group_id)
