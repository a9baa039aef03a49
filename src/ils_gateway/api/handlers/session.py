"""Log in (create a session), log out, patron summary, password change, card barcode."""

from __future__ import annotations

from aiohttp import web

from ils_gateway.api.auth import check_kiosk_key
from ils_gateway.api.bodies import freshness_fields, json_response, read_body
from ils_gateway.api.handlers.common import caller, runtime, token
from ils_gateway.api.keys import CLIENT, SESSION
from ils_gateway.api.schemas.session import (
    LoginRequest,
    PasswordChangeRequest,
    PatronSummary,
    PatronView,
    SessionCreated,
)
from ils_gateway.domain.vocab import Channel, Feature
from ils_gateway.runtime.keys import SETTINGS_KEY
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
    started = await tenant.account.start_session(
        body.card_number, body.password, channel, client=request.get(CLIENT)
    )
    if channel is Channel.KIOSK and tenant.notices is not None:
        await tenant.notices.kiosk_login(started.login.patron)  # こどもメール (issue 18)
    created = SessionCreated(
        token=started.token,
        channel=channel,
        idle_timeout_minutes=started.idle_timeout_minutes,
        password_change_required=started.login.password_change_required,
        password_change_url=(
            tenant.account.password_change_url() if started.login.password_change_required else None
        ),
        patron=PatronView.of(started.login.patron),
    )
    return json_response(created, status=201)


async def end_session(request: web.Request) -> web.Response:
    """DELETE …/sessions/current: log out (the patron's cached data goes too)."""
    await runtime(request).account.end_session(token(request), caller(request).patron)
    return web.Response(status=204)


async def patron_summary(request: web.Request) -> web.Response:
    """GET …/patron: the patron's counts and blocks."""
    patron = await runtime(request).account.summary(caller(request))
    return json_response(PatronSummary(patron=PatronView.of(patron), **freshness_fields(request)))


async def change_password(request: web.Request) -> web.Response:
    """POST …/patron/password: change the password (the only thing a temporary one allows)."""
    body = await read_body(request, PasswordChangeRequest)
    await runtime(request).account.change_password_in_session(
        caller(request),
        token(request),
        request[SESSION].extra,
        old_password=body.old_password,
        new_password=body.new_password,
    )
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
