"""Cancelled-hold history: holds cancelled or expired, kept for the tenant's retention period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.records import CancelledHold, CancelReason, PatronRef, checked_text
from ils_gateway.store.schema import cancelled_holds

TITLE_MAX_CHARS = 1000


class CancelledHoldRepository:
    """Records, lists, deletes and purges cancelled-hold history entries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, owner: PatronRef, entry: CancelledHold) -> bool:
        """Keep ``entry``; False when this hold was already recorded (seen twice is fine)."""
        t = cancelled_holds
        statement = (
            self._db.insert(t)
            .values(
                **owner_values(owner),
                hold_id=entry.hold_id,
                title=checked_text("title", entry.title, TITLE_MAX_CHARS),
                reason=CancelReason(entry.reason).value,
                at=entry.at,
                cancelled_by=entry.by,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "patron_key", "hold_id"])
        )
        async with self._db.write() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def list(self, owner: PatronRef) -> list[CancelledHold]:
        """The patron's entries, newest first."""
        t = cancelled_holds
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.c.hold_id, t.c.title, t.c.reason, t.c.at, t.c.cancelled_by)
                .where(owned_by(t, owner))
                .order_by(t.c.at.desc(), t.c.hold_id)
            )
            return [
                CancelledHold(r.hold_id, r.title, CancelReason(r.reason), r.at, r.cancelled_by)
                for r in rows
            ]

    async def delete(self, owner: PatronRef, hold_id: str) -> bool:
        """Delete one entry at the patron's request; False when there was none."""
        t = cancelled_holds
        return await self._db.delete_owned(t, owner, t.c.hold_id == hold_id) == 1

    async def purge_older_than(self, tenant_id: str, cutoff: datetime) -> int:
        """Delete the tenant's entries from before ``cutoff`` (now minus its retention)."""
        t = cancelled_holds
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(t).where(t.c.tenant_id == tenant_id, t.c.at < cutoff)
            )
            return result.rowcount
