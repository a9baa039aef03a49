"""The gateway's middleware: answer language (``api.language``) → request id → log context →
errors as problem+json → tenant and its request deadline (``ils_gateway.deadline``) → session
→ Idempotency-Key (``api.idempotency``, patron writes only), in one frame.

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

from ils_gateway.api import cors, language
from ils_gateway.api.auth import check_kiosk_key
from ils_gateway.api.client import client_address
from ils_gateway.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from ils_gateway.api.idempotency import WRITE_METHODS, keyed_write
from ils_gateway.api.keys import CLIENT, FRESHNESS, REQUEST_ID, SESSION, TENANT
from ils_gateway.api.limits import limit_lookup
from ils_gateway.api.problems import http_problem_response, problem_response

# Routes open without a session (login, pickup libraries, item lookup…), from the route table.
from ils_gateway.api.routes import (
    ANONYMOUS_LOOKUP_NAMES,
    OPERATOR_ROUTE_NAMES,
    PUBLIC_ROUTE_NAMES,
)
from ils_gateway.deadline import request_deadline
from ils_gateway.domain.errors import (
    BadRequest,
    GatewayError,
    PasswordChangeRequired,
    SessionExpired,
)
from ils_gateway.domain.vocab import Channel
from ils_gateway.logging import RequestLog, bind_request_context, reset_request_context
from ils_gateway.observability import metrics, tracing
from ils_gateway.runtime.keys import GATEWAY_KEY, SETTINGS_KEY, SHARED_KEY
from ils_gateway.runtime.tenant import TenantRuntime
from ils_gateway.services.tracking import begin_freshness, end_freshness

_log = structlog.get_logger("ils_gateway.api")
_request_log = RequestLog("ils_gateway.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Answers a browser or proxy may keep: the anonymous catalog and the API's documents. Every
# other answer (the login's, a patron's, any error) is sent ``Cache-Control: no-store``.
STORABLE_ROUTE_NAMES = (PUBLIC_ROUTE_NAMES - {"create_session"}) | {"openapi", "docs"}
# On every response: no content sniffing, and a Server header without versions (aiohttp's
# default names Python's and aiohttp's).
SERVER = "ils-gateway"

_UNREADABLE_BODY = "The request body could not be read (its length or chunked encoding is wrong)"

# Route names a session with a temporary password may still use.
PASSWORD_CHANGE_ROUTES = frozenset({"change_password", "end_session"})


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, log context and request line, errors as problem+json, tenant and session,
    and Idempotency-Keys on patron writes.

    One frame for what every request needs (a middleware per concern cost a coroutine and a
    partial each, on every request), in the order the concerns nest: the request id and log
    context outermost, then the error renderer (outside the session check, so that "please log
    in" is a problem document too), then the tenant and, on patron routes, the session.
    Counted into ``ils_gateway_http_requests_total`` and its latency histogram (by route name,
    tenant and status); traced when tracing is configured (``observability.tracing``).
    """
    if tracing.tracer is not None:
        return await _traced(request, handler)
    return await _gateway(request, handler)


async def _traced(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``_gateway`` in a server span named by the route (its template, never the raw path)."""
    info = request.match_info
    resource = info.route.resource
    name = info.route.name or "unmatched"
    attributes = {
        "http.request.method": request.method,
        "http.route": resource.canonical if resource is not None else "unmatched",
    }
    with tracing.server_span(f"HTTP {request.method} {name}", request.headers, attributes) as span:
        response = await _gateway(request, handler)
        span.set_attribute("http.response.status_code", response.status)
        runtime = request.get(TENANT)
        if runtime is not None:
            span.set_attribute("ils.tenant", runtime.config.id)
        return response


async def _gateway(request: web.Request, handler: Handler) -> web.StreamResponse:
    # The tenant, looked up once: for the answer's language (``api.language``: problem
    # documents are in it too, so it is chosen first) and then the session. The route's name
    # and the app are read once too (each costs aiohttp property calls).
    info = request.match_info
    route_name = info.route.name
    app = request.app
    tenant_id = info.get("tenant")
    runtime = None
    if tenant_id is not None:
        try:
            runtime = app[GATEWAY_KEY].tenant(tenant_id)
        except GatewayError:  # unknown: _answer's 404 says so
            pass
    chosen = language.choose(request, runtime)
    language_token = language.enter(chosen)
    try:
        response = await _answer(request, handler, app, route_name, tenant_id, runtime)
    finally:
        language.leave(language_token)
    language.say(response, chosen)
    return response


async def _answer(
    request: web.Request,
    handler: Handler,
    app: web.Application,
    route_name: str | None,
    tenant_id: str | None,
    runtime: TenantRuntime | None,
) -> web.StreamResponse:
    given = request.headers.get("X-Request-ID", "")
    # A label to find a request's lines by, not a secret: no system call for randomness.
    request_id = given if _REQUEST_ID.match(given) else f"{random.getrandbits(64):016x}"
    request[REQUEST_ID] = request_id
    settings = app[SETTINGS_KEY]
    trusted = settings.trusted_proxies
    client = request[CLIENT] = client_address(
        request.remote,
        # read only behind trusted proxies: without them the header is never looked at
        request.headers.getall(settings.forwarded_header, ()) if trusted else (),
        trusted,
        settings.forwarded_header,
    )
    path = request.path
    # The request's log context: bound as one context variable for every line logged while it
    # runs (tenant, patron and channel join once the session is known), and the request line's.
    context = {
        "request_id": request_id,
        "method": request.method,
        "path": _logged_path(request),
        "client": client or "unknown",
    }
    log_token = bind_request_context(context)  # _with_session adds the patron to the dict
    freshness, freshness_token = begin_freshness()
    request[FRESHNESS] = freshness
    # The tenant served: ``runtime`` once _with_session has accepted it (it sets TENANT).
    served: TenantRuntime | None = None
    started = time.perf_counter()
    status = 500
    try:
        try:
            if tenant_id is not None:
                if runtime is None:
                    runtime = app[GATEWAY_KEY].tenant(tenant_id)  # raises NotFound
                request[TENANT] = served = runtime
            response = await _with_session(
                request, handler, app, route_name, context, tenant_id, runtime
            )
        except GatewayError as exc:
            response = render_error(request, exc)
        except web.RequestPayloadError as exc:
            # A body aiohttp could not read (bad chunking, short of its length): its message
            # quotes the body, so only the class is logged (issue 15).
            response = render_error(request, BadRequest(_UNREADABLE_BODY))
            _log.info("unreadable_body", error=type(exc.__cause__ or exc).__name__)
        except web.HTTPException as exc:
            if exc.status < 400:
                status = exc.status
                exc.headers["X-Request-ID"] = request_id
                raise
            response = http_problem_response(exc, instance=path, request_id=request_id)
        except Exception:
            _log.exception("unhandled_error")
            response = problem_response(GatewayError(), instance=path, request_id=request_id)
        status = response.status
    finally:
        end_freshness(freshness_token)
        elapsed = time.perf_counter() - started
        _request_log.done(context, status, round(elapsed * 1000, 1))
        reset_request_context(log_token)
        if served is None:  # a CORS preflight (no route) names its tenant itself
            served = request.get(TENANT)
        # Labels: the route's name (not the path) and a served tenant's id (not any path text).
        metrics.request_done(
            route_name or "unmatched",
            served.config.id if served is not None else "",
            status,
            elapsed,
        )
    headers = response.headers
    headers["X-Request-ID"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Server"] = SERVER
    if status >= 400 or route_name not in STORABLE_ROUTE_NAMES:
        headers["Cache-Control"] = "no-store"
    if served is not None:
        cors.mark(request, headers, served.config.cors)
    return response


def _logged_path(request: web.Request) -> str:
    """The path as logged: a route's variables (item, hold, title…) as their names, the tenant
    as it is. The line names the patron too, and a patron next to an item is a reading record."""
    info = request.match_info
    if not info or (len(info) == 1 and "tenant" in info):  # no variable but the tenant
        return request.path
    resource = info.route.resource
    if resource is None:
        return request.path
    canonical = resource.canonical
    tenant = info.get("tenant")
    return canonical.replace("{tenant}", tenant, 1) if tenant is not None else canonical


def render_error(request: web.Request, exc: GatewayError) -> web.Response:
    """Log ``exc`` (upstream failures as warnings) and render it as problem+json."""
    level = "warning" if exc.status >= 500 else "info"
    getattr(_log, level)(
        "gateway_error", type=exc.type_slug, status=exc.status, operator=exc.operator_detail
    )
    return problem_response(exc, instance=request.path, request_id=request.get(REQUEST_ID))


async def _with_session(
    request: web.Request,
    handler: Handler,
    app: web.Application,
    route_name: str | None,
    context: dict[str, str],
    tenant_id: str | None,
    runtime: TenantRuntime | None,
) -> web.StreamResponse:
    # The tenant from the path (``runtime``, None outside a tenant; the caller has set TENANT)
    # and, on patron routes, the session and channel (added to the log context, which the
    # caller binds and resets).
    if tenant_id is None or runtime is None:
        if request.method == "OPTIONS":  # no route has OPTIONS: CORS preflights (api.cors)
            answer = await cors.preflight(request)
            if answer is not None:
                return answer
        return await handler(request)
    # One deadline for everything this request waits for (``ils_gateway.deadline``).
    with request_deadline(runtime.config.request_deadline):
        if route_name in PUBLIC_ROUTE_NAMES:
            if route_name in ANONYMOUS_LOOKUP_NAMES:
                await limit_lookup(request, tenant_id)
            return await handler(request)
        if route_name in OPERATOR_ROUTE_NAMES:  # the handler checks the operator key
            return await handler(request)
        token = _bearer(request)
        session = await app[SHARED_KEY].sessions.resolve(tenant_id, token)
        if session.channel is Channel.KIOSK:
            header = app[SETTINGS_KEY].kiosk_header
            check_kiosk_key(request.headers.get(header), runtime.config.kiosk_keys, header)
        if session.password_change_required and route_name not in PASSWORD_CHANGE_ROUTES:
            raise PasswordChangeRequired(change_url=runtime.account.password_change_url())
        request[SESSION] = session
        context["tenant"] = tenant_id
        context["patron"] = session.masked_card
        context["channel"] = session.channel_name
        if request.method in WRITE_METHODS and IDEMPOTENCY_HEADER in request.headers:
            return await keyed_write(request, handler, render_error)
        return await handler(request)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionExpired("Please log in")
    return token.strip()
