"""The runtime inside an aiohttp app: one cleanup context per process-wide resource.

``install(app, settings)`` appends them in the order they depend on each other; aiohttp tears
them down in reverse, each only if it was set up:

1. embedded simulators (``settings.extra_cleanups``), started first and stopped last;
2. ``redis_context``: the process's ONE Redis client (None without ``redis_url``);
3. ``shared_context``: sessions, Idempotency-Keys, read caches, rate limits over it;
4. ``store_context``: the gateway store and its list services (None without a store);
5. ``gateway_context``: every tenant's backend (pools, adapters), e-library and services.

Faces append their own contexts after ``install`` (the kiosk face, the jobs) and read the
runtime from ``runtime.keys``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ils_gateway.runtime.assemble import open_gateway
from ils_gateway.runtime.keys import GATEWAY_KEY, REDIS_KEY, SETTINGS_KEY, SHARED_KEY, STORE_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.shared import open_redis, shared_state
from ils_gateway.runtime.store import open_mylists


async def redis_context(app: web.Application) -> AsyncIterator[None]:
    """The process's one Redis client (``REDIS_KEY``), closed last of the runtime."""
    async with open_redis(app[SETTINGS_KEY]) as redis:
        app[REDIS_KEY] = redis
        yield


async def shared_context(app: web.Application) -> AsyncIterator[None]:
    """The shared state (``SHARED_KEY``) over the Redis client, or in memory."""
    app[SHARED_KEY] = shared_state(app[SETTINGS_KEY], app[REDIS_KEY])
    yield


async def store_context(app: web.Application) -> AsyncIterator[None]:
    """The gateway store, migrated, and its list services (``STORE_KEY``; None without one)."""
    settings = app[SETTINGS_KEY]
    if settings.store is None:
        app[STORE_KEY] = None
        yield
        return
    async with open_mylists(settings.store, settings.clock) as mylists:
        app[STORE_KEY] = mylists
        yield


async def gateway_context(app: web.Application) -> AsyncIterator[None]:
    """Every tenant's backend, e-library and services (``GATEWAY_KEY``)."""
    async with open_gateway(app[SETTINGS_KEY], app[SHARED_KEY], app[STORE_KEY]) as gateway:
        app[GATEWAY_KEY] = gateway
        yield


def install(app: web.Application, settings: GatewaySettings) -> None:
    """Keep ``settings`` in ``app`` and append the runtime's cleanup contexts, in order."""
    app[SETTINGS_KEY] = settings
    for resource in settings.extra_cleanups:
        app.cleanup_ctx.append(lambda _app, resource=resource: resource())
    app.cleanup_ctx.append(redis_context)
    app.cleanup_ctx.append(shared_context)
    app.cleanup_ctx.append(store_context)
    app.cleanup_ctx.append(gateway_context)
