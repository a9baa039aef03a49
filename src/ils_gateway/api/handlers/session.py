"""Log in (create a session), log out, patron summary, password change, card barcode."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.auth import check_kiosk_key
from ils_gateway.api.bodies import freshness_fields, json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime, token
from ils_gateway.api.keys import SETTINGS_KEY, STATE_KEY
from ils_gateway.api.routes_mylists import rewrap_after_password_change, session_extra_at_login
from ils_gateway.api.schemas import (
    LoginRequest,
    PasswordChangeRequest,
    PatronSummary,
    PatronView,
    SessionCreated,
)
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.services.barcode import card_barcode_svg


async def create_session(request: web.Request) -> web.Response:
    """POST …/sessions: card + password → a session token (kiosk channel with a kiosk key)."""
    tenant = runtime(request)
    body = await read_body(request, LoginRequest)
    channel = Channel.WEB
    header = request.app[SETTINGS_KEY].kiosk_header
    if header in request.headers:
        check_kiosk_key(request.headers[header], tenant.config.kiosk_keys, header)
        channel = Channel.KIOSK
    login = await tenant.account.login(body.card_number, body.password)
    # Only now, with the password accepted by the library, may it open the reading history.
    extra = await session_extra_at_login(tenant, login.patron, channel, body.password)
    idle = tenant.config.policy.idle_timeout_minutes
    new_token = await request.app[STATE_KEY].sessions.create(
        tenant.config.id,
        login.patron,
        channel,
        password_change_required=login.password_change_required,
        idle_timeout_minutes=idle,
        extra=extra,
    )
    created = SessionCreated(
        token=new_token,
        channel=channel,
        idle_timeout_minutes=idle,
        password_change_required=login.password_change_required,
        patron=PatronView.of(login.patron),
    )
    return json_response(created, status=201)


async def end_session(request: web.Request) -> web.Response:
    """DELETE …/sessions/current: log out."""
    await request.app[STATE_KEY].sessions.end(token(request))
    return web.Response(status=204)


async def patron_summary(request: web.Request) -> web.Response:
    """GET …/patron: the patron's counts and blocks."""
    patron = await runtime(request).account.summary(caller(request))
    return json_response(PatronSummary(patron=PatronView.of(patron), **freshness_fields(request)))


async def change_password(request: web.Request) -> web.Response:
    """POST …/patron/password: change the password (the only thing a temporary one allows)."""
    body = await read_body(request, PasswordChangeRequest)
    await runtime(request).account.change_password(
        caller(request), body.old_password, body.new_password
    )
    await rewrap_after_password_change(request, body.old_password, body.new_password)
    await request.app[STATE_KEY].sessions.password_changed(token(request))
    return web.Response(status=204)


async def card_barcode(request: web.Request) -> web.Response:
    """GET …/patron/card.svg: the card number as a barcode in the tenant's symbology."""
    tenant = runtime(request)
    who = caller(request)
    tenant.context.require_feature(Feature.CARD_BARCODE, who.channel)
    svg = card_barcode_svg(who.patron.card_number, tenant.config.policy.barcode_symbology)
    return web.Response(
        body=svg, content_type="image/svg+xml", headers={"Cache-Control": "private, no-store"}
    )
