"""Notice preferences of the logged-in patron, and the staff's phone call list (issue 18).

The call list is an operator route: no patron session; the staff tool sends one of the
tenant's ``[tenants.notices] operator_keys`` as ``Authorization: Bearer <key>`` (compared in
constant time, as the e-library's bridge keys are). A missing or wrong key is a 401 problem.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime
from ils_gateway.api.schemas.notices import (
    CallDoneRequest,
    CallList,
    CallView,
    NoticePreferencesUpdate,
    NoticePreferencesView,
)
from ils_gateway.domain.errors import AuthenticationFailed, BadRequest, FeatureDisabled
from ils_gateway.runtime.tenant import TenantRuntime
from ils_gateway.services.ebooks.bridge import key_matches
from ils_gateway.services.notices.service import NoticeService

MAX_CALL_ID = 2**62


def _notices(tenant: TenantRuntime) -> NoticeService:
    if tenant.notices is None:
        raise FeatureDisabled(
            "notices",
            detail="This gateway sends no notices",
            operator_detail="no store configured (GatewaySettings.store)",
        )
    return tenant.notices


async def notice_preferences_get(request: web.Request) -> web.Response:
    """GET …/patron/notices."""
    tenant = runtime(request)
    view = await _notices(tenant).preferences(caller(request).patron)
    return json_response(NoticePreferencesView.copied_from(view))


async def notice_preferences_update(request: web.Request) -> web.Response:
    """PUT …/patron/notices."""
    tenant = runtime(request)
    body = await read_body(request, NoticePreferencesUpdate)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name, value in changes.items():
        if value is None:
            raise BadRequest(f"{name}: may not be null (omit it to keep it)")
    view = await _notices(tenant).update_preferences(caller(request).patron, **changes)
    return json_response(NoticePreferencesView.copied_from(view))


def _operator(request: web.Request) -> NoticeService:
    tenant = runtime(request)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    given = key.strip() if scheme.lower() == "bearer" else None
    if not key_matches(given, tenant.config.notices.operator_keys):
        raise AuthenticationFailed("An operator key is needed (Authorization: Bearer <key>)")
    return _notices(tenant)


def _call(entry: Any) -> CallView:
    details = entry.details
    return CallView(
        id=entry.id,
        event=entry.event,
        created_at=entry.created_at,
        patron_name=details.get("patron_name"),
        phone=details.get("phone"),
        title=details.get("title"),
        pickup_library=details.get("pickup_library"),
        pickup_deadline=details.get("pickup_deadline"),
        next_opening_day=details.get("next_opening_day"),
        done_at=entry.done_at,
        done_by=entry.done_by,
    )


async def call_list(request: web.Request) -> web.Response:
    """GET …/operator/calls[?all=true]: the calls to make (with ``all``, made ones too)."""
    notices = _operator(request)
    every = request.query.get("all", "false")
    if every not in ("true", "false"):
        raise BadRequest("all: true or false")
    entries = await notices.calls(include_done=every == "true")
    return json_response(CallList(calls=[_call(e) for e in entries]))


async def call_done(request: web.Request) -> web.Response:
    """POST …/operator/calls/{call_id}/done: the call was made."""
    notices = _operator(request)
    raw = request.match_info["call_id"]
    if not raw.isdigit() or int(raw) > MAX_CALL_ID:
        raise BadRequest("call_id: a call number")
    body = await read_body(request, CallDoneRequest)
    return json_response(_call(await notices.call_done(int(raw), body.by)))
