"""Bookshelves (マイ本棚): named lists of items with a comment, ratings and item comments.

Limits (shelves per patron, items per shelf) come from the tenant policy with each call;
``None`` means unlimited (Saitama: shelves of unlimited size).
"""

from __future__ import annotations

import builtins  # annotations after a method named ``list`` need the builtin by name
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update

from ils_gateway.domain.clock import Clock
from ils_gateway.store._db import Database, owned_by, owner_values
from ils_gateway.store.async_engine import AsyncConnection
from ils_gateway.store.errors import (
    ItemAlreadyOnShelf,
    ShelfItemLimitExceeded,
    ShelfItemNotFound,
    ShelfLimitExceeded,
    ShelfNotFound,
)
from ils_gateway.store.records import (
    ITEM_COMMENT_MAX_CHARS,
    SHELF_COMMENT_MAX_CHARS,
    SHELF_NAME_MAX_CHARS,
    UNSET,
    PatronRef,
    Shelf,
    ShelfItem,
    Unset,
    checked_rating,
    checked_text,
)
from ils_gateway.store.schema import shelf_items, shelves

TITLE_MAX_CHARS = 1000


class ShelfRepository:
    """Creates, changes and deletes a patron's bookshelves and the items on them."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # --- shelves -------------------------------------------------------------------------------

    async def create(
        self, owner: PatronRef, name: str, comment: str = "", *, max_shelves: int | None
    ) -> Shelf:
        """Make a new, empty shelf; ``ShelfLimitExceeded`` when the patron has enough."""
        name = checked_text("name", name, SHELF_NAME_MAX_CHARS, allow_empty=False)
        comment = checked_text("comment", comment, SHELF_COMMENT_MAX_CHARS)
        s = shelves
        shelf_id, created_at = uuid.uuid4().hex, self._clock()
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "shelves")
            count, last = (
                await conn.execute(
                    select(func.count(), func.max(s.c.seq)).where(owned_by(s, owner))
                )
            ).one()
            if max_shelves is not None and count >= max_shelves:
                raise ShelfLimitExceeded(max_shelves)
            await conn.execute(
                s.insert().values(
                    shelf_id=shelf_id,
                    **owner_values(owner),
                    name=name,
                    comment=comment,
                    created_at=created_at,
                    seq=(last or 0) + 1,
                )
            )
        return Shelf(shelf_id, name, comment, created_at, 0)

    async def update(
        self,
        owner: PatronRef,
        shelf_id: str,
        *,
        name: str | Unset = UNSET,
        comment: str | Unset = UNSET,
    ) -> Shelf:
        """Rename a shelf and/or change its comment."""
        values: dict[str, Any] = {}
        if not isinstance(name, Unset):
            values["name"] = checked_text("name", name, SHELF_NAME_MAX_CHARS, allow_empty=False)
        if not isinstance(comment, Unset):
            values["comment"] = checked_text("comment", comment, SHELF_COMMENT_MAX_CHARS)
        if values:
            s = shelves
            async with self._db.write() as conn:
                result = await conn.execute(
                    update(s).where(owned_by(s, owner), s.c.shelf_id == shelf_id).values(**values)
                )
                if result.rowcount == 0:
                    raise ShelfNotFound(shelf_id)
        return await self.get(owner, shelf_id)

    async def delete(self, owner: PatronRef, shelf_id: str) -> None:
        """Delete a shelf and everything on it."""
        s = shelves
        if not await self._db.delete_owned(s, owner, s.c.shelf_id == shelf_id):
            raise ShelfNotFound(shelf_id)

    async def list(self, owner: PatronRef) -> list[Shelf]:
        """The patron's shelves in the order they were made, with their item counts."""
        async with self._db.read() as conn:
            return await self._shelves(conn, owner)

    async def get(self, owner: PatronRef, shelf_id: str) -> Shelf:
        """One of the patron's shelves."""
        async with self._db.read() as conn:
            found = await self._shelves(conn, owner, shelf_id)
        if not found:
            raise ShelfNotFound(shelf_id)
        return found[0]

    async def _shelves(
        self, conn: AsyncConnection, owner: PatronRef, shelf_id: str | None = None
    ) -> builtins.list[Shelf]:
        s, i = shelves, shelf_items
        counts = (
            select(i.c.shelf_id, func.count().label("n"))
            .where(owned_by(i, owner))
            .group_by(i.c.shelf_id)
            .subquery()
        )
        query = (
            select(s.c.shelf_id, s.c.name, s.c.comment, s.c.created_at, counts.c.n)
            .outerjoin(counts, counts.c.shelf_id == s.c.shelf_id)
            .where(owned_by(s, owner))
            .order_by(s.c.seq)
        )
        if shelf_id is not None:
            query = query.where(s.c.shelf_id == shelf_id)
        rows = await conn.execute(query)
        return [Shelf(r.shelf_id, r.name, r.comment, r.created_at, r.n or 0) for r in rows]

    # --- items ---------------------------------------------------------------------------------

    async def items(self, owner: PatronRef, shelf_id: str) -> builtins.list[ShelfItem]:
        """What is on a shelf, in the order it was added."""
        i = shelf_items
        async with self._db.read() as conn:
            await self._require_shelf(conn, owner, shelf_id)
            rows = await conn.execute(
                select(i.c.item_id, i.c.title, i.c.rating, i.c.comment, i.c.added_at)
                .where(owned_by(i, owner), i.c.shelf_id == shelf_id)
                .order_by(i.c.added_at, i.c.item_id)
            )
            return [ShelfItem(r.item_id, r.title, r.rating, r.comment, r.added_at) for r in rows]

    async def add_item(
        self, owner: PatronRef, shelf_id: str, item_id: str, title: str, *, max_items: int | None
    ) -> ShelfItem:
        """Put an item on a shelf (from search results or reading history)."""
        item = ShelfItem(
            item_id, checked_text("title", title, TITLE_MAX_CHARS), None, None, self._clock()
        )
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "shelves")
            await self._insert_item(conn, owner, shelf_id, item, max_items)
        return item

    async def remove_item(self, owner: PatronRef, shelf_id: str, item_id: str) -> None:
        """Take an item off a shelf."""
        i = shelf_items
        async with self._db.write() as conn:
            await self._require_shelf(conn, owner, shelf_id)
            result = await conn.execute(delete(i).where(_on_shelf(owner, shelf_id, item_id)))
            if result.rowcount == 0:
                raise ShelfItemNotFound(item_id)

    async def copy_item(
        self,
        owner: PatronRef,
        item_id: str,
        *,
        from_shelf: str,
        to_shelf: str,
        max_items: int | None,
    ) -> ShelfItem:
        """Put a copy of an item (with its rating and comment) on another shelf."""
        return await self._transfer(owner, item_id, from_shelf, to_shelf, max_items, move=False)

    async def move_item(
        self,
        owner: PatronRef,
        item_id: str,
        *,
        from_shelf: str,
        to_shelf: str,
        max_items: int | None,
    ) -> ShelfItem:
        """Move an item to another shelf, keeping its rating and comment."""
        return await self._transfer(owner, item_id, from_shelf, to_shelf, max_items, move=True)

    async def annotate(
        self,
        owner: PatronRef,
        shelf_id: str,
        item_id: str,
        *,
        rating: int | Unset | None = UNSET,
        comment: str | Unset | None = UNSET,
    ) -> ShelfItem:
        """Set or clear (None) the patron's rating (1-5) and comment (≤ 100 characters)."""
        values: dict[str, Any] = {}
        if not isinstance(rating, Unset):
            values["rating"] = checked_rating(rating)
        if not isinstance(comment, Unset):
            values["comment"] = (
                None
                if comment is None
                else checked_text("comment", comment, ITEM_COMMENT_MAX_CHARS)
            )
        i = shelf_items
        async with self._db.write() as conn:
            await self._require_shelf(conn, owner, shelf_id)
            if values:
                result = await conn.execute(
                    update(i).where(_on_shelf(owner, shelf_id, item_id)).values(**values)
                )
                if result.rowcount == 0:
                    raise ShelfItemNotFound(item_id)
            return await self._item(conn, owner, shelf_id, item_id)

    # --- helpers -------------------------------------------------------------------------------

    async def _transfer(
        self,
        owner: PatronRef,
        item_id: str,
        from_shelf: str,
        to_shelf: str,
        max_items: int | None,
        *,
        move: bool,
    ) -> ShelfItem:
        """Put the item of ``from_shelf`` on ``to_shelf``; with ``move``, take it off the first."""
        async with self._db.write() as conn:
            await self._db.lock_patron(conn, owner, "shelves")
            item = await self._item(conn, owner, from_shelf, item_id)
            await self._insert_item(conn, owner, to_shelf, item, max_items)
            if move:
                await conn.execute(delete(shelf_items).where(_on_shelf(owner, from_shelf, item_id)))
        return item

    async def _require_shelf(self, conn: AsyncConnection, owner: PatronRef, shelf_id: str) -> None:
        s = shelves
        found = await conn.scalar(
            select(s.c.shelf_id).where(owned_by(s, owner), s.c.shelf_id == shelf_id)
        )
        if found is None:
            raise ShelfNotFound(shelf_id)

    async def _item(
        self, conn: AsyncConnection, owner: PatronRef, shelf_id: str, item_id: str
    ) -> ShelfItem:
        await self._require_shelf(conn, owner, shelf_id)
        i = shelf_items
        row = (
            await conn.execute(
                select(i.c.item_id, i.c.title, i.c.rating, i.c.comment, i.c.added_at).where(
                    _on_shelf(owner, shelf_id, item_id)
                )
            )
        ).first()
        if row is None:
            raise ShelfItemNotFound(item_id)
        return ShelfItem(row.item_id, row.title, row.rating, row.comment, row.added_at)

    async def _insert_item(
        self,
        conn: AsyncConnection,
        owner: PatronRef,
        shelf_id: str,
        item: ShelfItem,
        max_items: int | None,
    ) -> None:
        await self._require_shelf(conn, owner, shelf_id)
        i = shelf_items
        on_shelf = owned_by(i, owner) & (i.c.shelf_id == shelf_id)
        if await conn.scalar(
            select(func.count()).select_from(i).where(on_shelf, i.c.item_id == item.item_id)
        ):
            raise ItemAlreadyOnShelf(item.item_id)
        if max_items is not None:
            count = await conn.scalar(select(func.count()).select_from(i).where(on_shelf))
            if count is not None and count >= max_items:
                raise ShelfItemLimitExceeded(max_items)
        await conn.execute(
            i.insert().values(
                shelf_id=shelf_id,
                **owner_values(owner),
                item_id=item.item_id,
                title=item.title,
                rating=item.rating,
                comment=item.comment,
                added_at=item.added_at,
            )
        )


def _on_shelf(owner: PatronRef, shelf_id: str, item_id: str) -> ColumnElement[bool]:
    """The patron's row of ``item_id`` on ``shelf_id``."""
    i = shelf_items
    return and_(owned_by(i, owner), i.c.shelf_id == shelf_id, i.c.item_id == item_id)
