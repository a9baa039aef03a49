"""``create_app(settings)``: the aiohttp application, composed (not subclassed).

The runtime (``ils_gateway.runtime``) opens every process-wide resource in its own cleanup
context (embedded simulators, the Redis client, the shared state, the store, the tenants'
backends and services); the API adds its routes, middleware and its own per-process cache of
rendered list bodies, and only translates between HTTP and the services.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ils_gateway.api.demo_page import add_demo_page
from ils_gateway.api.docs import docs_page, openapi_json
from ils_gateway.api.health import healthz, readyz
from ils_gateway.api.keys import RENDERED_KEY
from ils_gateway.api.limits import lookup_limiter_context
from ils_gateway.api.metrics import metrics_endpoint
from ils_gateway.api.middleware import gateway_middleware
from ils_gateway.api.rendered import RenderedLists
from ils_gateway.api.routes import add_routes
from ils_gateway.api.server import AFTER_LISTENING_KEY
from ils_gateway.observability import metrics
from ils_gateway.runtime.contexts import install
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> web.Application:
    """The patron API for the tenants in ``settings``."""
    app = web.Application(
        middlewares=[gateway_middleware],  # the answer's language too (api.language)
        client_max_size=settings.client_max_size,
    )
    install(app, settings)
    app.cleanup_ctx.append(lookup_limiter_context)  # after the runtime's Redis client
    app[RENDERED_KEY] = RenderedLists()
    add_routes(app)
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")
    app.router.add_get("/openapi.json", openapi_json, name="openapi")
    app.router.add_get("/docs", docs_page, name="docs")
    app.router.add_get(
        "/metrics", metrics_endpoint, name="metrics"
    )  # operational: not in the OpenAPI document
    add_demo_page(app)  # /demo: 404 unless a tenant has demo_page on (issue 20)
    app.on_cleanup.append(_flush_metrics)
    after_listening: list[Callable[[web.Application], None]] = [_warm_up]
    app[AFTER_LISTENING_KEY] = after_listening
    return app


async def _flush_metrics(_app: web.Application) -> None:
    """At shutdown: the counts batched since the last flush (``observability.metrics``)."""
    metrics.flush()


def _warm_up(app: web.Application) -> None:
    """Once the port is open: what the tenants' first requests would otherwise load."""
    app[GATEWAY_KEY].warm_up()
