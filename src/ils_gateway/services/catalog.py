"""Pickup libraries and item lookup: reads shared by every patron of a tenant."""

from __future__ import annotations

from ils_gateway.domain.models import Item, Library
from ils_gateway.services.context import TenantContext


class CatalogService:
    """Catalogue-side reads of one tenant."""

    def __init__(self, tenant: TenantContext) -> None:
        self._tenant = tenant

    async def pickup_libraries(self) -> list[Library]:
        """Where holds can be collected (bookmobiles with their stations)."""
        return await self._tenant.pickup_libraries()

    async def item(self, item_id: str) -> Item:
        """One item or title; ``NotFound`` when the ILS does not know it."""
        return await self._tenant.backend.get_item(item_id)
