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
    before = await lists.settings.get(ctx)
    saved = await lists.settings.update(ctx, tenant.context, **changes)
    changed = [n for n in ("email1", "email2") if getattr(before, n) != getattr(saved, n)]
    new_address = saved.email1 or saved.email2
    if changed and new_address and tenant.notices is not None:
        # The address-change confirmation (issue 18) to the new address and the old one.
        await tenant.notices.address_changed(
            ctx.patron, new_address, changed, old_address=before.email1 or before.email2
        )
    return json_response(SettingsView.of(saved))
