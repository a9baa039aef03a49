"""The reservation basket (予約かご): items the patron means to place holds on later."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, tuple_

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.records import (
    BasketAddOutcome,
    BasketAddResult,
    BasketItem,
    PatronRef,
    checked_text,
)
from ils_gateway.store.schema import basket_items

TITLE_MAX_CHARS = 1000


class BasketRepository:
    """Adds, removes and lists basket items; the limit comes from the tenant policy."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self, owner: PatronRef, source: str, item_id: str, title: str, *, max_items: int
    ) -> BasketAddResult:
        """Put an item in the basket unless it is there already or the basket is full."""
        title = checked_text("title", title, TITLE_MAX_CHARS)
        t = basket_items
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "basket")
            count = await conn.scalar(select(func.count()).select_from(t).where(owned_by(t, owner)))
            assert count is not None
            present = await conn.scalar(
                select(func.count())
                .select_from(t)
                .where(owned_by(t, owner), t.c.source == source, t.c.item_id == item_id)
            )
            if present:
                return BasketAddResult(BasketAddOutcome.ALREADY_PRESENT, count, max_items)
            if count >= max_items:
                return BasketAddResult(BasketAddOutcome.FULL, count, max_items)
            await conn.execute(
                t.insert().values(
                    **owner_values(owner),
                    source=source,
                    item_id=item_id,
                    title=title,
                    added_at=self._clock(),
                )
            )
            return BasketAddResult(BasketAddOutcome.ADDED, count + 1, max_items)

    async def remove(self, owner: PatronRef, source: str, item_id: str) -> bool:
        """Take one item out; False when it was not in the basket."""
        return await self.remove_many(owner, [(source, item_id)]) == 1

    async def remove_many(self, owner: PatronRef, items: Iterable[tuple[str, str]]) -> int:
        """Take several (source, item id) pairs out, e.g. after checkout; returns how many."""
        pairs = list(items)
        if not pairs:
            return 0
        t = basket_items
        return await self._db.delete_owned(t, owner, tuple_(t.c.source, t.c.item_id).in_(pairs))

    async def clear(self, owner: PatronRef) -> int:
        """Empty the basket; returns how many items were in it."""
        return await self._db.delete_owned(basket_items, owner)

    async def list(self, owner: PatronRef) -> list[BasketItem]:
        """The basket, oldest first."""
        t = basket_items
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(t.c.source, t.c.item_id, t.c.title, t.c.added_at)
                .where(owned_by(t, owner))
                .order_by(t.c.added_at, t.c.source, t.c.item_id)
            )
            return [BasketItem(r.source, r.item_id, r.title, r.added_at) for r in rows]
