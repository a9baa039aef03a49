"""Pickup libraries and item lookup."""

from __future__ import annotations

from datetime import datetime

from ils_gateway.api.schemas.common import Body
from ils_gateway.domain.models import Item, Library


class LibraryList(Body):
    """Pickup libraries (bookmobiles list their stations)."""

    libraries: list[Library]
    stale: bool = False
    as_of: datetime | None = None


class ItemView(Body):
    """One item or title."""

    item: Item
    stale: bool = False
    as_of: datetime | None = None
