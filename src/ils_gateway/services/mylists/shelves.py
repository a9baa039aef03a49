"""Bookshelves (マイ本棚): named lists with a comment, items with a rating and a comment.

Limits come from the tenant (Nishinomiya 20 shelves × 100 items, Saitama 50 shelves of any
size…); the per-item comment is at most the tenant's number of characters (100 full-width
characters by default), counted as characters, never bytes. Shelves follow the tenant's kiosk
restrictions (Nishinomiya: web only).
"""

from __future__ import annotations

import builtins  # annotations after a method named ``list`` need the builtin by name
import unicodedata

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.errors import BadRequest, NotFound
from ils_gateway.domain.vocab import Feature
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import store_errors
from ils_gateway.store.records import UNSET, Shelf, ShelfItem, UnlockedHistoryKey, Unset
from ils_gateway.store.store import Store

__all__ = ["UNSET", "ShelfService"]


class ShelfService:
    """Creates, renames and deletes shelves; adds, removes, copies, moves and annotates items."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(self, ctx: PatronContext) -> list[Shelf]:
        """The patron's shelves in the order they were made."""
        ctx.require(Feature.BOOKSHELVES)
        return await self._store.shelves.list(ctx.owner)

    async def create(self, ctx: PatronContext, name: str, comment: str = "") -> Shelf:
        """Make a shelf; ``ListLimitReached`` when the patron has as many as allowed."""
        ctx.require(Feature.BOOKSHELVES)
        with store_errors():
            return await self._store.shelves.create(
                ctx.owner, name, comment, max_shelves=ctx.policy.lists.max_shelves
            )

    async def update(
        self,
        ctx: PatronContext,
        shelf_id: str,
        *,
        name: str | Unset = UNSET,
        comment: str | Unset = UNSET,
    ) -> Shelf:
        """Rename a shelf and/or change its comment."""
        ctx.require(Feature.BOOKSHELVES)
        with store_errors():
            return await self._store.shelves.update(ctx.owner, shelf_id, name=name, comment=comment)

    async def delete(self, ctx: PatronContext, shelf_id: str) -> None:
        """Delete a shelf and everything on it."""
        ctx.require(Feature.BOOKSHELVES)
        with store_errors():
            await self._store.shelves.delete(ctx.owner, shelf_id)

    async def items(self, ctx: PatronContext, shelf_id: str) -> builtins.list[ShelfItem]:
        """What is on a shelf, in the order it was added."""
        ctx.require(Feature.BOOKSHELVES)
        with store_errors():
            return await self._store.shelves.items(ctx.owner, shelf_id)

    async def add_item(
        self,
        ctx: PatronContext,
        backend: ILSBackend,
        shelf_id: str,
        item_id: str,
        title: str | None = None,
    ) -> ShelfItem:
        """Put an item on a shelf; its title is looked up when the caller has none."""
        ctx.require(Feature.BOOKSHELVES)
        if title is None:
            if not backend.capabilities.supports(Capability.GET_ITEM):
                raise BadRequest("Give the item's title: this library system cannot look it up")
            title = (await backend.get_item(item_id)).title
        return await self._add(ctx, shelf_id, item_id, title)

    async def add_from_history(
        self, ctx: PatronContext, key: UnlockedHistoryKey, shelf_id: str, entry_id: str
    ) -> ShelfItem:
        """Put an item from the patron's reading history on a shelf (needs the opened key)."""
        ctx.require(Feature.BOOKSHELVES)
        ctx.require(Feature.READING_HISTORY)
        with store_errors():
            page = await self._store.reading_history.list(ctx.owner, key)
        for stored in page.entries:
            if stored.entry_id == entry_id:
                return await self._add(ctx, shelf_id, stored.entry.item_id, stored.entry.title)
        raise NotFound("No such reading-history entry")

    async def remove_item(self, ctx: PatronContext, shelf_id: str, item_id: str) -> None:
        """Take an item off a shelf."""
        ctx.require(Feature.BOOKSHELVES)
        with store_errors():
            await self._store.shelves.remove_item(ctx.owner, shelf_id, item_id)

    async def copy_item(
        self, ctx: PatronContext, item_id: str, *, from_shelf: str, to_shelf: str
    ) -> ShelfItem:
        """Copy an item (with its rating and comment) to another shelf."""
        return await self._transfer(ctx, item_id, from_shelf, to_shelf, move=False)

    async def move_item(
        self, ctx: PatronContext, item_id: str, *, from_shelf: str, to_shelf: str
    ) -> ShelfItem:
        """Move an item (with its rating and comment) to another shelf."""
        return await self._transfer(ctx, item_id, from_shelf, to_shelf, move=True)

    async def _transfer(
        self,
        ctx: PatronContext,
        item_id: str,
        from_shelf: str,
        to_shelf: str,
        *,
        move: bool,
    ) -> ShelfItem:
        """Copy or move an item between the patron's shelves, within the tenant's shelf size."""
        ctx.require(Feature.BOOKSHELVES)
        shelves = self._store.shelves
        put = shelves.move_item if move else shelves.copy_item
        with store_errors():
            return await put(
                ctx.owner,
                item_id,
                from_shelf=from_shelf,
                to_shelf=to_shelf,
                max_items=ctx.policy.lists.max_items_per_shelf,
            )

    async def annotate(
        self,
        ctx: PatronContext,
        shelf_id: str,
        item_id: str,
        *,
        rating: int | Unset | None = UNSET,
        comment: str | Unset | None = UNSET,
    ) -> ShelfItem:
        """Set or clear (None) an item's rating (1-5) and comment."""
        ctx.require(Feature.BOOKSHELVES)
        if isinstance(comment, str):
            limit = ctx.policy.lists.comment_max_chars
            length = len(unicodedata.normalize("NFC", comment))
            if length > limit:
                raise BadRequest(f"comment: at most {limit} characters (got {length})")
        with store_errors():
            return await self._store.shelves.annotate(
                ctx.owner, shelf_id, item_id, rating=rating, comment=comment
            )

    async def _add(self, ctx: PatronContext, shelf_id: str, item_id: str, title: str) -> ShelfItem:
        with store_errors():
            return await self._store.shelves.add_item(
                ctx.owner, shelf_id, item_id, title, max_items=ctx.policy.lists.max_items_per_shelf
            )
