"""The reservation basket: list, add, remove, empty, place holds on chosen items."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import lists_context
from ils_gateway.api.schemas.basket import (
    BasketAddedView,
    BasketAddRequest,
    BasketConfirmRequest,
    BasketItemView,
    BasketView,
)
from ils_gateway.domain.errors import NotFound


async def basket_list(request: web.Request) -> web.Response:
    """GET …/basket."""
    lists, ctx, _ = lists_context(request)
    items = await lists.basket.list(ctx)
    limit = ctx.policy.lists.basket_size or 0
    views = [BasketItemView(item_id=i.item_id, title=i.title, added_at=i.added_at) for i in items]
    return json_response(BasketView(items=views, count=len(views), limit=limit))


async def basket_add(request: web.Request) -> web.Response:
    """POST …/basket/items."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, BasketAddRequest)
    added = await lists.basket.add(
        ctx, tenant.context.backend, body.item_id, source=body.source, title=body.title
    )
    view = BasketAddedView(
        item_id=added.item_id, added=added.added, count=added.count, limit=added.limit
    )
    return json_response(view, status=201 if added.added else 200)


async def basket_remove(request: web.Request) -> web.Response:
    """DELETE …/basket/items/{item_id}."""
    lists, ctx, _ = lists_context(request)
    if not await lists.basket.remove(ctx, request.match_info["item_id"]):
        raise NotFound("This item is not in the basket")
    return web.Response(status=204)


async def basket_clear(request: web.Request) -> web.Response:
    """DELETE …/basket."""
    lists, ctx, _ = lists_context(request)
    await lists.basket.clear(ctx)
    return web.Response(status=204)


async def basket_confirm(request: web.Request) -> web.Response:
    """POST …/basket/holds: place holds on the chosen items; one result per item."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, BasketConfirmRequest)
    batch = await lists.basket.confirm(
        ctx,
        tenant.context.backend,
        body.item_ids,
        pickup_library=body.pickup_library,
        contact_method=body.contact_method,
    )
    return json_response(batch)
