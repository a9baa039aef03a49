"""The process-wide shared state, over ONE Redis client per process (or in memory).

One process (the default): sessions, Idempotency-Keys, read caches, the e-library bridge's
rate limits and the failed-login counts all in memory. Many processes behind a load balancer:
``GatewaySettings.redis_url`` (``serve --redis URL`` or ``ILS_GATEWAY_REDIS_URL``) puts every
one of them in Redis through the same client, so nothing correct depends on a request returning
to the same process.
``open_redis(settings)`` opens that client (closed on exit); ``shared_state(settings, redis)``
builds the stores over it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache, RedisReadCache
from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.services.ebooks.bridge import BridgeLimiters
from ils_gateway.services.sessions import PatronSessions
from ils_gateway.state.idempotency import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
)
from ils_gateway.state.loginguard import LoginGuard, MemoryLoginGuard, RedisLoginGuard
from ils_gateway.state.sessions import MemorySessionStore, RedisSessionStore


@dataclass(frozen=True)
class SharedState:
    """Patron sessions, Idempotency-Keys, a read cache per backend, the bridge's limiters, the
    failed-login counts."""

    sessions: PatronSessions
    idempotency: IdempotencyStore
    read_cache: Callable[[], ReadCache]
    bridge_limiters: BridgeLimiters
    login_guard: LoginGuard


@asynccontextmanager
async def open_redis(settings: GatewaySettings) -> AsyncIterator[Any]:
    """The process's one Redis client (None without ``redis_url``); closed on exit."""
    if settings.redis_url is None:
        yield None
        return
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def shared_state(settings: GatewaySettings, redis: Any = None) -> SharedState:
    """The stores of ``settings``: in Redis through ``redis`` when given, else in memory."""
    seconds = epoch_seconds(settings.clock)
    if redis is None:
        return SharedState(
            sessions=PatronSessions(MemorySessionStore(clock=settings.clock)),
            idempotency=MemoryIdempotencyStore(clock=seconds),
            read_cache=lambda: MemoryReadCache(clock=seconds),
            bridge_limiters=BridgeLimiters.in_memory(seconds),
            login_guard=MemoryLoginGuard(clock=seconds),
        )
    prefix = settings.redis_prefix
    return SharedState(
        sessions=PatronSessions(RedisSessionStore(redis, prefix=prefix, clock=settings.clock)),
        idempotency=RedisIdempotencyStore(redis, prefix=prefix),
        read_cache=lambda: RedisReadCache(redis, prefix=prefix, clock=seconds),
        bridge_limiters=BridgeLimiters.in_redis(redis, prefix, seconds),
        login_guard=RedisLoginGuard(redis, prefix=prefix, clock=seconds),
    )
