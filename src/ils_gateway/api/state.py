"""Where the API keeps state between requests: sessions, Idempotency-Keys, the read cache.

One process (the default): all three in memory. Many processes behind a load balancer:
``GatewaySettings.redis_url`` (``serve --redis URL`` or ``ILS_GATEWAY_REDIS_URL``) puts them in
Redis, so nothing correct depends on a request returning to the same process.
``open_api_state(settings)`` opens them (and the Redis client, closed on exit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache, RedisReadCache
from ils_gateway.api.auth import PatronSessions
from ils_gateway.api.rendered import RenderedLists
from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.gateway import GatewaySettings
from ils_gateway.idempotency import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
)
from ils_gateway.sessions import MemorySessionStore, RedisSessionStore


@dataclass(frozen=True)
class ApiState:
    """The API's stores: patron sessions, Idempotency-Keys, and a read cache per tenant; and
    this process's rendered list bodies."""

    sessions: PatronSessions
    idempotency: IdempotencyStore
    read_cache: Callable[[], ReadCache]
    rendered: RenderedLists = field(default_factory=RenderedLists)


@asynccontextmanager
async def open_api_state(settings: GatewaySettings) -> AsyncIterator[ApiState]:
    """The stores of ``settings``: in memory, or in Redis when ``redis_url`` is set."""
    redis: Any = None
    if settings.redis_url is not None:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url)
    try:
        yield _memory_state(settings) if redis is None else _redis_state(settings, redis)
    finally:
        if redis is not None:
            await redis.aclose()


def _memory_state(settings: GatewaySettings) -> ApiState:
    seconds = epoch_seconds(settings.clock)
    return ApiState(
        sessions=PatronSessions(MemorySessionStore(clock=settings.clock)),
        idempotency=MemoryIdempotencyStore(clock=seconds),
        read_cache=lambda: MemoryReadCache(clock=seconds),
    )


def _redis_state(settings: GatewaySettings, redis: Any) -> ApiState:
    prefix = settings.redis_prefix
    seconds = epoch_seconds(settings.clock)
    return ApiState(
        sessions=PatronSessions(RedisSessionStore(redis, prefix=prefix, clock=settings.clock)),
        idempotency=RedisIdempotencyStore(redis, prefix=prefix),
        read_cache=lambda: RedisReadCache(redis, prefix=prefix, clock=seconds),
    )
