"""``create_app(settings)``: the aiohttp application, composed (not subclassed).

Resources open in cleanup contexts, in order, each torn down only if it was set up: extra
resources from the settings (embedded simulators), the API's stores (sessions, Idempotency-Keys,
read cache: memory or Redis), then the gateway (every tenant's backend).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ils_gateway.api.docs import docs_page, openapi_json
from ils_gateway.api.health import healthz, readyz
from ils_gateway.api.keys import GATEWAY_KEY, SETTINGS_KEY, STATE_KEY
from ils_gateway.api.middleware import gateway_middleware
from ils_gateway.api.routes import add_routes
from ils_gateway.api.routes_ebooks import setup_ebooks
from ils_gateway.api.state import open_api_state
from ils_gateway.gateway import GatewaySettings, open_gateway


async def _state_context(app: web.Application) -> AsyncIterator[None]:
    async with open_api_state(app[SETTINGS_KEY]) as state:
        app[STATE_KEY] = state
        yield


async def _gateway_context(app: web.Application) -> AsyncIterator[None]:
    async with open_gateway(app[SETTINGS_KEY], app[STATE_KEY].read_cache) as gateway:
        app[GATEWAY_KEY] = gateway
        yield


def create_app(settings: GatewaySettings) -> web.Application:
    """The patron API for the tenants in ``settings``."""
    app = web.Application(
        middlewares=[gateway_middleware],
        client_max_size=settings.client_max_size,
    )
    app[SETTINGS_KEY] = settings
    for cleanup in settings.extra_cleanups:
        app.cleanup_ctx.append(lambda _app, cleanup=cleanup: cleanup())
    app.cleanup_ctx.append(_state_context)
    app.cleanup_ctx.append(_gateway_context)
    add_routes(app)
    setup_ebooks(app)  # after the gateway: e-book services use its tenants
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")
    app.router.add_get("/openapi.json", openapi_json, name="openapi")
    app.router.add_get("/docs", docs_page, name="docs")
    return app
