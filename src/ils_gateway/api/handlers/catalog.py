"""Pickup libraries and item lookup (no patron session needed)."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import freshness_fields, json_response
from ils_gateway.api.handlers.common import runtime
from ils_gateway.api.schemas.catalog import ItemView, LibraryList


async def pickup_libraries(request: web.Request) -> web.Response:
    """GET …/libraries."""
    libraries = await runtime(request).catalog.pickup_libraries()
    return json_response(LibraryList(libraries=libraries, **freshness_fields(request)))


async def item(request: web.Request) -> web.Response:
    """GET …/items/{item_id}."""
    found = await runtime(request).catalog.item(request.match_info["item_id"])
    return json_response(ItemView(item=found, **freshness_fields(request)))
