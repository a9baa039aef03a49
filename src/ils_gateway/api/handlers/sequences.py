"""Hold sequences (順番予約): list, create, dissolve, take a hold out."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import lists_context
from ils_gateway.api.schemas.sequences import SequenceCreateRequest, SequenceList, SequenceViewModel
from ils_gateway.domain.errors import BadRequest


async def sequence_list(request: web.Request) -> web.Response:
    """GET …/hold-sequences."""
    lists, ctx, tenant = lists_context(request)
    views = await lists.sequences.list(ctx, tenant.context.backend)
    return json_response(SequenceList(sequences=[SequenceViewModel.of(v) for v in views]))


async def sequence_create(request: web.Request) -> web.Response:
    """POST …/hold-sequences."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, SequenceCreateRequest)
    if len(set(body.hold_ids)) != len(body.hold_ids):
        raise BadRequest("A hold is given twice")
    view = await lists.sequences.create(ctx, tenant.context.backend, body.hold_ids)
    await lists.sync_enrolment(ctx)
    return json_response(SequenceViewModel.of(view), status=201)


async def sequence_dissolve(request: web.Request) -> web.Response:
    """DELETE …/hold-sequences/{sequence_id}: the holds stay, no longer ordered."""
    lists, ctx, tenant = lists_context(request)
    await lists.sequences.dissolve(ctx, tenant.context.backend, request.match_info["sequence_id"])
    await lists.sync_enrolment(ctx)
    return web.Response(status=204)


async def sequence_leave(request: web.Request) -> web.Response:
    """DELETE …/holds/{hold_id}/sequence: take one hold out of its sequence."""
    lists, ctx, tenant = lists_context(request)
    await lists.sequences.remove(ctx, tenant.context.backend, request.match_info["hold_id"])
    await lists.sync_enrolment(ctx)
    return web.Response(status=204)
