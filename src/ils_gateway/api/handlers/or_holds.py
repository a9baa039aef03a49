"""OR-holds (いずれか予約): list, place, cancel a group (issue 19)."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, lists_context, runtime
from ils_gateway.api.schemas.or_holds import OrHoldCreateRequest, OrHoldList, OrHoldViewModel
from ils_gateway.domain.models import HoldResult


async def or_hold_list(request: web.Request) -> web.Response:
    """GET …/or-holds."""
    lists, ctx, tenant = lists_context(request)
    views = await lists.or_holds.list(ctx, tenant.context.backend)
    return json_response(OrHoldList(groups=[OrHoldViewModel.of(v) for v in views]))


async def or_hold_create(request: web.Request) -> web.Response:
    """POST …/or-holds: a hold on every record (all or nothing), kept as one group."""
    lists, ctx, tenant = lists_context(request)
    lists.or_holds.require(ctx)
    body = await read_body(request, OrHoldCreateRequest)
    lists.or_holds.check_records(ctx, body.record_ids)
    who = caller(request)
    catalog = runtime(request).catalog

    async def place(record_id: str) -> HoldResult:
        return await catalog.place_hold(who, record_id, body.pickup_library, body.contact_method)

    view = await lists.or_holds.create(
        ctx, tenant.context.backend, body.record_ids, body.pickup_library, place
    )
    await lists.sync_enrolment(ctx)
    return json_response(OrHoldViewModel.of(view), status=201)


async def or_hold_cancel(request: web.Request) -> web.Response:
    """DELETE …/or-holds/{group_id}: cancel the group's remaining holds."""
    lists, ctx, tenant = lists_context(request)
    await lists.or_holds.cancel(ctx, tenant.context.backend, request.match_info["group_id"])
    await lists.sync_enrolment(ctx)
    return web.Response(status=204)
