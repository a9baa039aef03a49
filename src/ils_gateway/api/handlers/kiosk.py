"""``POST …/operator/kiosk/reload``: re-read the tenant file's self-check settings.

An operator route (no patron session): the staff tool sends one of the tenant's
``[tenants.notices] operator_keys`` as ``Authorization: Bearer <key>``, as for the phone call
list. The SIP2 face applies the new terminal profiles and logins to every next frame and login,
connected machines included; a file that does not load changes nothing and the answer says
why (``applied: false``).
"""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response
from ils_gateway.api.handlers.common import runtime
from ils_gateway.api.schemas.kiosk import KioskReloadView
from ils_gateway.domain.errors import AuthenticationFailed, FeatureDisabled
from ils_gateway.runtime.keys import KIOSK_RELOAD_KEY
from ils_gateway.services.ebooks.bridge import key_matches


async def kiosk_reload(request: web.Request) -> web.Response:
    """POST …/operator/kiosk/reload."""
    tenant = runtime(request)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    given = key.strip() if scheme.lower() == "bearer" else None
    if not key_matches(given, tenant.config.notices.operator_keys):
        raise AuthenticationFailed("An operator key is needed (Authorization: Bearer <key>)")
    reload = request.app.get(KIOSK_RELOAD_KEY)
    results = reload(tenant.config.id) if reload is not None else []
    if not results:
        raise FeatureDisabled(
            "kiosk_reload",
            detail="This library's self-check settings cannot be reloaded here",
            operator_detail="no SIP2 face runs for this tenant, or the gateway was not started "
            "from a tenant file (serve --config)",
        )
    result = results[0]
    return json_response(
        KioskReloadView(
            applied=result.applied,
            generation=result.generation,
            problems=list(result.problems),
            notes=list(result.notes),
        )
    )
