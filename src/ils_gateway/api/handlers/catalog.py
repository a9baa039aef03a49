"""Pickup libraries, item lookup, catalogue search and records (no session needed), and a
hold placed from a record (a session needed)."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import freshness_fields, json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.schemas.catalog import (
    CatalogHoldRequest,
    ItemView,
    LibraryList,
    RecordDetail,
    SearchResults,
)


async def pickup_libraries(request: web.Request) -> web.Response:
    """GET …/libraries."""
    libraries = await runtime(request).catalog.pickup_libraries()
    return json_response(LibraryList(libraries=libraries, **freshness_fields(request)))


async def item(request: web.Request) -> web.Response:
    """GET …/items/{item_id}."""
    found = await runtime(request).catalog.item(request.match_info["item_id"])
    return json_response(ItemView(item=found, **freshness_fields(request)))


async def search(request: web.Request) -> web.Response:
    """GET …/catalog/search: parameters checked before any I/O."""
    service = runtime(request).catalog
    query = service.parse_search(request.query)
    page, cached = await service.search(query)
    return json_response(
        SearchResults(
            records=list(page.records),
            total=page.total,
            page=query.page,
            per_page=query.per_page,
            sort=query.sort,
            source=service.source_name or "",
            cached=cached,
        )
    )


async def record(request: web.Request) -> web.Response:
    """GET …/catalog/records/{record_id}."""
    view = await runtime(request).catalog.record(request.match_info["record_id"])
    return json_response(
        RecordDetail(
            record=view.found.record,
            copies=list(view.found.copies),
            holdable=view.hold.holdable,
            not_holdable_reason=view.hold.reason,
            pickup_libraries=list(view.hold.pickup_libraries),
        )
    )


async def record_hold(request: web.Request) -> web.Response:
    """POST …/catalog/records/{record_id}/holds."""
    body = await read_body(request, CatalogHoldRequest)
    result = await runtime(request).catalog.place_hold(
        caller(request), request.match_info["record_id"], body.pickup_library, body.contact_method
    )
    return json_response(result)
