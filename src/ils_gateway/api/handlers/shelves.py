"""Bookshelves (マイ本棚) and the items on them."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import lists_context
from ils_gateway.api.handlers.history import history_key
from ils_gateway.api.schemas.shelves import (
    ShelfCreateRequest,
    ShelfItemAddRequest,
    ShelfItemList,
    ShelfItemTransferRequest,
    ShelfItemUpdateRequest,
    ShelfItemView,
    ShelfList,
    ShelfUpdateRequest,
    ShelfView,
)
from ils_gateway.domain.errors import BadRequest
from ils_gateway.services.mylists.errors import HistoryLocked
from ils_gateway.services.mylists.records import UNSET


async def shelf_list(request: web.Request) -> web.Response:
    """GET …/shelves."""
    lists, ctx, _ = lists_context(request)
    shelves = await lists.shelves.list(ctx)
    limits = ctx.policy.lists
    return json_response(
        ShelfList(
            shelves=[ShelfView.of(s) for s in shelves],
            max_shelves=limits.max_shelves,
            max_items_per_shelf=limits.max_items_per_shelf,
        )
    )


async def shelf_create(request: web.Request) -> web.Response:
    """POST …/shelves."""
    lists, ctx, _ = lists_context(request)
    body = await read_body(request, ShelfCreateRequest)
    shelf = await lists.shelves.create(ctx, body.name, body.comment)
    return json_response(ShelfView.of(shelf), status=201)


async def shelf_update(request: web.Request) -> web.Response:
    """PATCH …/shelves/{shelf_id}."""
    lists, ctx, _ = lists_context(request)
    body = await read_body(request, ShelfUpdateRequest)
    if body.name is None and body.comment is None:
        raise BadRequest("Give name, comment or both")
    shelf = await lists.shelves.update(
        ctx,
        request.match_info["shelf_id"],
        name=UNSET if body.name is None else body.name,
        comment=UNSET if body.comment is None else body.comment,
    )
    return json_response(ShelfView.of(shelf))


async def shelf_delete(request: web.Request) -> web.Response:
    """DELETE …/shelves/{shelf_id}: the shelf and everything on it."""
    lists, ctx, _ = lists_context(request)
    await lists.shelves.delete(ctx, request.match_info["shelf_id"])
    return web.Response(status=204)


async def shelf_items(request: web.Request) -> web.Response:
    """GET …/shelves/{shelf_id}/items."""
    lists, ctx, _ = lists_context(request)
    items = await lists.shelves.items(ctx, request.match_info["shelf_id"])
    return json_response(ShelfItemList(items=[ShelfItemView.of(i) for i in items]))


async def shelf_item_add(request: web.Request) -> web.Response:
    """POST …/shelves/{shelf_id}/items: by item id, or from a reading-history entry."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, ShelfItemAddRequest)
    shelf_id = request.match_info["shelf_id"]
    if body.item_id is not None and body.history_entry_id is None:
        item = await lists.shelves.add_item(
            ctx, tenant.context.backend, shelf_id, body.item_id, body.title
        )
    elif body.history_entry_id is not None and body.item_id is None:
        key = history_key(lists, request)
        if key is None:
            raise HistoryLocked()
        item = await lists.shelves.add_from_history(ctx, key, shelf_id, body.history_entry_id)
    else:
        raise BadRequest("Give either item_id or history_entry_id")
    return json_response(ShelfItemView.of(item), status=201)


async def shelf_item_update(request: web.Request) -> web.Response:
    """PATCH …/shelves/{shelf_id}/items/{item_id}: rating and/or comment."""
    lists, ctx, _ = lists_context(request)
    body = await read_body(request, ShelfItemUpdateRequest)
    given = body.model_fields_set
    if not given:
        raise BadRequest("Give rating, comment or both")
    item = await lists.shelves.annotate(
        ctx,
        request.match_info["shelf_id"],
        request.match_info["item_id"],
        rating=body.rating if "rating" in given else UNSET,
        comment=body.comment if "comment" in given else UNSET,
    )
    return json_response(ShelfItemView.of(item))


async def shelf_item_remove(request: web.Request) -> web.Response:
    """DELETE …/shelves/{shelf_id}/items/{item_id}."""
    lists, ctx, _ = lists_context(request)
    await lists.shelves.remove_item(
        ctx, request.match_info["shelf_id"], request.match_info["item_id"]
    )
    return web.Response(status=204)


async def shelf_item_copy(request: web.Request) -> web.Response:
    """POST …/shelves/{shelf_id}/items/{item_id}/copy."""
    return await _transfer(request, move=False)


async def shelf_item_move(request: web.Request) -> web.Response:
    """POST …/shelves/{shelf_id}/items/{item_id}/move."""
    return await _transfer(request, move=True)


async def _transfer(request: web.Request, *, move: bool) -> web.Response:
    lists, ctx, _ = lists_context(request)
    body = await read_body(request, ShelfItemTransferRequest)
    put = lists.shelves.move_item if move else lists.shelves.copy_item
    item = await put(
        ctx,
        request.match_info["item_id"],
        from_shelf=request.match_info["shelf_id"],
        to_shelf=body.to_shelf,
    )
    # A copy is a new entry on the other shelf; a move only changes where the entry is.
    return json_response(ShelfItemView.of(item), status=200 if move else 201)
