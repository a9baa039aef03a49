"""The patron settings the gateway keeps; new e-mail addresses wait for a mailed link
(``services.settings_change``)."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, lists_context
from ils_gateway.api.schemas.settings import SettingsUpdateRequest, SettingsUpdateView, SettingsView
from ils_gateway.domain.errors import BadRequest, FeatureDisabled
from ils_gateway.runtime.tenant import TenantRuntime
from ils_gateway.services.mylists.runtime import MyLists
from ils_gateway.services.settings_change import SettingsAddressChange


def address_change(tenant: TenantRuntime, lists: MyLists) -> SettingsAddressChange:
    """The tenant's settings flow with addresses confirmed by mail."""
    if tenant.lifecycle is None:
        raise FeatureDisabled(
            "account_lifecycle",
            detail="This gateway keeps no account data",
            operator_detail="no store configured (GatewaySettings.store)",
        )
    return SettingsAddressChange(
        tenant.context, lists.store, lists.settings, tenant.lifecycle, tenant.notices
    )


def mail_language(request: web.Request) -> str | None:
    """The language the patron asked for (``Accept-Language``: ja or en), for the mails."""
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in ("ja", "en"):
            return tag
    return None


async def settings_get(request: web.Request) -> web.Response:
    """GET …/patron/settings."""
    lists, ctx, _ = lists_context(request)
    return json_response(SettingsView.of(await lists.settings.get(ctx)))


async def settings_update(request: web.Request) -> web.Response:
    """PATCH …/patron/settings: 200 when everything is saved, 202 when a new address waits
    for the link mailed to it."""
    lists, ctx, tenant = lists_context(request)
    body = await read_body(request, SettingsUpdateRequest)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("due_date_reminder", False) is None:
        raise BadRequest("due_date_reminder: true or false")
    done = await address_change(tenant, lists).update(
        ctx, caller(request), changes, pickup=tenant.context, language=mail_language(request)
    )
    view = SettingsUpdateView.model_validate(
        {
            **SettingsView.of(done.settings).model_dump(),
            "pending_confirmation": [
                {
                    "field": p.field,
                    "confirm_sent_to": p.confirm_sent_to,
                    "expires_at": p.expires_at,
                    "stored_in": p.stored_in,
                }
                for p in done.pending
            ],
            "stored_in": done.stored_in,
        }
    )
    return json_response(view, status=202 if done.pending else 200)
