"""The patron settings the gateway keeps."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import lists_context
from ils_gateway.api.schemas.settings import SettingsUpdateRequest, SettingsView
from ils_gateway.domain.errors import BadRequest


async def settings_get(request: web.Request) -> web.Response:
    """GET …/patron/settings."""
    lists, ctx, _ = lists_context(request)
    return json_response(SettingsView.of(await lists.settings.get(ctx)))


async def settings_update(request: web.Request) -> web.Response:
    """PATCH …/patron/settings."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, SettingsUpdateRequest)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("due_date_reminder", False) is None:
        raise BadRequest("due_date_reminder: true or false")
    saved = await lists.settings.update(ctx, tenant.context, **changes)
    return json_response(SettingsView.of(saved))
