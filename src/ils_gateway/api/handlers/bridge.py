"""The e-library's auth bridge: ``POST /elibrary/v1/libraries/{library}/patron-check``.

Outside the tenant prefix and without a patron session: the e-library sends its own key
(``Authorization: Bearer <bridge key>``). Too many checks are a 429 ``rate-limited`` problem
(``BridgeRateLimited``, rendered by ``api.problems`` like every error).
"""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.bodies import json_response, read_body
from ils_gateway.api.keys import CLIENT
from ils_gateway.api.schemas.ebooks import PatronCheckRequest, PatronCheckResponse
from ils_gateway.runtime.keys import GATEWAY_KEY


async def patron_check(request: web.Request) -> web.Response:
    """POST /elibrary/v1/libraries/{library}/patron-check: is this a valid patron? yes/no."""
    tenant = request.app[GATEWAY_KEY].tenant(request.match_info["library"])  # NotFound if not
    body = await read_body(request, PatronCheckRequest, tenant)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    answer = await tenant.ebooks.bridge.check(
        api_key=key.strip() if scheme.lower() == "bearer" else None,
        client=request.get(CLIENT) or "unknown",
        card_number=body.cardNumber,
        password=body.password,
    )
    payload = PatronCheckResponse(valid=answer.valid, patronCategory=answer.patron_category)
    return json_response(payload.model_dump(mode="json", exclude_none=True))
