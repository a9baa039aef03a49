"""Bookshelves (マイ本棚) and their items."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body
from ils_gateway.services.mylists.records import Shelf, ShelfItem


class ShelfCreateRequest(Body):
    """A new bookshelf."""

    name: str = Field(min_length=1, max_length=50)
    comment: str = Field("", max_length=200)


class ShelfUpdateRequest(Body):
    """A new name and/or comment (omit a field to keep it)."""

    name: str | None = Field(None, min_length=1, max_length=50)
    comment: str | None = Field(None, max_length=200)


class ShelfView(Body):
    """A bookshelf (マイ本棚)."""

    shelf_id: str
    name: str
    comment: str
    created_at: datetime
    item_count: int

    @classmethod
    def of(cls, shelf: Shelf) -> ShelfView:
        """The API view of a stored shelf."""
        return cls.copied_from(shelf)


class ShelfList(Body):
    """The patron's shelves, in the order they were made."""

    shelves: list[ShelfView]
    max_shelves: int | None
    max_items_per_shelf: int | None


class ShelfItemAddRequest(Body):
    """An item by id (title looked up when not given) or an entry of the reading history."""

    item_id: str | None = Field(None, min_length=1, max_length=128)
    title: str | None = Field(None, max_length=1000)
    history_entry_id: str | None = Field(None, min_length=1, max_length=64)


class ShelfItemUpdateRequest(Body):
    """Rating (1-5) and/or comment; omit a field to keep it, send null to clear it."""

    rating: int | None = Field(None, ge=1, le=5)
    comment: str | None = None


class ShelfItemTransferRequest(Body):
    """The shelf to copy or move the item to."""

    to_shelf: str = Field(min_length=1, max_length=64)


class ShelfItemView(Body):
    """An item on a shelf with the patron's rating and comment."""

    item_id: str
    title: str
    rating: int | None
    comment: str | None
    added_at: datetime

    @classmethod
    def of(cls, item: ShelfItem) -> ShelfItemView:
        """The API view of a stored shelf item."""
        return cls.copied_from(item)


class ShelfItemList(Body):
    """What is on a shelf, in the order it was added."""

    items: list[ShelfItemView]
