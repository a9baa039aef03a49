"""The reservation basket."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ils_gateway.api.schemas.common import Body, LibraryId, LibraryValue
from ils_gateway.domain.vocab import ContactMethod, ItemSource


class BasketAddRequest(Body):
    """An item of the library system to put in the basket (the title from the search page)."""

    item_id: LibraryValue = Field(min_length=1, max_length=128)
    title: str | None = Field(None, max_length=1000)
    source: ItemSource = Field(ItemSource.ILS, description="ebook is refused: never in a basket")


class BasketItemView(Body):
    """An item in the basket."""

    item_id: str
    title: str
    added_at: datetime


class BasketView(Body):
    """The basket, oldest first, with the library's limit."""

    items: list[BasketItemView]
    count: int
    limit: int


class BasketAddedView(Body):
    """The answer to adding: whether the item was new, and the basket's size and limit."""

    item_id: str
    added: bool
    count: int
    limit: int


class BasketConfirmRequest(Body):
    """Basket items to place holds on, all for one pickup library and contact method."""

    item_ids: list[LibraryId] = Field(min_length=1, max_length=100)
    pickup_library: LibraryValue = Field(min_length=1, max_length=64)
    contact_method: ContactMethod | None = None
