"""New-arrival alerts (新着図書お知らせ, SDI): the patron's saved conditions."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import lists_context
from ils_gateway.api.schemas.sdi import (
    SdiConditionCreateRequest,
    SdiConditionList,
    SdiConditionUpdateRequest,
    SdiConditionView,
)
from ils_gateway.domain.errors import BadRequest
from ils_gateway.services.mylists.records import UNSET
from ils_gateway.services.sdi import SdiService


async def sdi_list(request: web.Request) -> web.Response:
    """GET …/new-arrival-conditions."""
    lists, ctx, _ = lists_context(request)
    conditions = await SdiService(lists.store).list(ctx)
    return json_response(
        SdiConditionList(
            conditions=[SdiConditionView.of(c) for c in conditions],
            max_conditions=ctx.tenant.sdi.max_conditions,
            schedule=ctx.tenant.sdi.schedule,
        )
    )


async def sdi_create(request: web.Request) -> web.Response:
    """POST …/new-arrival-conditions."""
    lists, ctx, _ = lists_context(request)
    body = await read_body(request, SdiConditionCreateRequest)
    if not any((body.author, body.title_words, body.subject, body.material_type)):
        raise BadRequest("author: give author, title_words, subject or material_type")
    condition = await SdiService(lists.store).create(
        ctx,
        body.name,
        author=body.author,
        title_words=body.title_words,
        subject=body.subject,
        material_type=body.material_type,
    )
    return json_response(SdiConditionView.of(condition), status=201)


async def sdi_update(request: web.Request) -> web.Response:
    """PATCH …/new-arrival-conditions/{condition_id}."""
    lists, ctx, _ = lists_context(request)
    body = await read_body(request, SdiConditionUpdateRequest)
    given = body.model_fields_set
    if not given:
        raise BadRequest("Give name, author, title_words, subject or material_type")
    if "name" in given and body.name is None:
        raise BadRequest("name: cannot be cleared")
    condition = await SdiService(lists.store).update(
        ctx,
        request.match_info["condition_id"],
        name=body.name if body.name is not None else UNSET,
        author=body.author if "author" in given else UNSET,
        title_words=body.title_words if "title_words" in given else UNSET,
        subject=body.subject if "subject" in given else UNSET,
        material_type=body.material_type if "material_type" in given else UNSET,
    )
    return json_response(SdiConditionView.of(condition))


async def sdi_delete(request: web.Request) -> web.Response:
    """DELETE …/new-arrival-conditions/{condition_id}."""
    lists, ctx, _ = lists_context(request)
    await SdiService(lists.store).delete(ctx, request.match_info["condition_id"])
    return web.Response(status=204)
