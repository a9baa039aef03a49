"""Middlewares, outermost first: request id → log context → errors as problem+json → session
(then ``api.idempotency`` innermost).

The error renderer sits outside the session check so that "please log in" and "change your
password first" are problem documents like every other error. Every response (errors too)
carries ``X-Request-ID``; every log line of the request carries ``request_id``.
"""

from __future__ import annotations

import random
import re
import time

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from structlog.contextvars import bind_contextvars, reset_contextvars

from ils_gateway.adapters.resilience.freshness import track_freshness
from ils_gateway.api.auth import check_kiosk_key
from ils_gateway.api.keys import (
    FRESHNESS,
    GATEWAY_KEY,
    REQUEST_ID,
    SESSION,
    SETTINGS_KEY,
    STATE_KEY,
    TENANT,
)
from ils_gateway.api.problems import http_problem_response, problem_response

# Routes open without a session (login, pickup libraries, item lookup…), from the route table.
from ils_gateway.api.routes import PUBLIC_ROUTE_NAMES
from ils_gateway.domain.errors import (
    GatewayError,
    PasswordChangeRequired,
    SessionExpired,
)
from ils_gateway.domain.vocab import Channel
from ils_gateway.logging import ConfiguredLogger

_log = structlog.get_logger("ils_gateway.api")
_request_log = ConfiguredLogger("ils_gateway.api")  # one line per request: kept bound
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Route names a session with a temporary password may still use.
PASSWORD_CHANGE_ROUTES = frozenset({"change_password", "end_session"})


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Take a well-formed ``X-Request-ID`` from the client or make one; echo it back."""
    given = request.headers.get("X-Request-ID", "")
    # A label to find a request's lines by, not a secret: no system call for randomness.
    request_id = given if _REQUEST_ID.match(given) else f"{random.getrandbits(64):016x}"
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Request-ID"] = request_id
        raise
    response.headers["X-Request-ID"] = request_id
    return response


@web.middleware
async def log_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind the request id (and method, path) to every log line of this request."""
    # bind/reset by token: the cheapest way to scope context to one request (on every request)
    tokens = bind_contextvars(
        request_id=request[REQUEST_ID], method=request.method, path=request.path
    )
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        _request_log.get().info(
            "request", status=status, ms=round((time.perf_counter() - started) * 1000, 1)
        )
        reset_contextvars(**tokens)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as problem+json: domain errors, aiohttp's HTTP errors, and bugs."""
    request_id = request.get(REQUEST_ID)
    instance = request.path
    try:
        with track_freshness() as freshness:
            request[FRESHNESS] = freshness
            return await handler(request)
    except GatewayError as exc:
        return render_error(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return http_problem_response(exc, instance=instance, request_id=request_id)
    except Exception:
        _log.exception("unhandled_error")
        return problem_response(GatewayError(), instance=instance, request_id=request_id)


def render_error(request: web.Request, exc: GatewayError) -> web.Response:
    """Log ``exc`` (upstream failures as warnings) and render it as problem+json."""
    level = "warning" if exc.status >= 500 else "info"
    getattr(_log, level)(
        "gateway_error", type=exc.type_slug, status=exc.status, operator=exc.operator_detail
    )
    return problem_response(
        exc,
        instance=request.path,
        request_id=request.get(REQUEST_ID),
        now=request.app[SETTINGS_KEY].clock(),
    )


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the tenant from the path and, on patron routes, the session and channel."""
    tenant_id = request.match_info.get("tenant")
    if tenant_id is None:
        return await handler(request)
    runtime = request.app[GATEWAY_KEY].tenant(tenant_id)
    request[TENANT] = runtime
    route = request.match_info.route
    if route.name in PUBLIC_ROUTE_NAMES:
        return await handler(request)
    token = _bearer(request)
    session = await request.app[STATE_KEY].sessions.resolve(tenant_id, token)
    if session.channel is Channel.KIOSK:
        header = request.app[SETTINGS_KEY].kiosk_header
        check_kiosk_key(request.headers.get(header), runtime.config.kiosk_keys, header)
    if session.password_change_required and route.name not in PASSWORD_CHANGE_ROUTES:
        raise PasswordChangeRequired()
    request[SESSION] = session
    tokens = bind_contextvars(
        tenant=tenant_id, patron=session.patron.masked_card, channel=str(session.channel)
    )
    try:
        return await handler(request)
    finally:
        reset_contextvars(**tokens)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionExpired("Please log in")
    return token.strip()
