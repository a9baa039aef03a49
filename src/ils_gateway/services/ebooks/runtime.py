"""Every tenant's e-book service and auth bridge, opened together with the gateway.

``open_ebooks(tenants, clock, redis_url=…)`` opens each tenant's e-library (starting the
simulator where the tenant asks for it) and the bridge's rate limiters: in memory for one
process, or in Redis when the gateway has a Redis URL, so that every process behind the load
balancer counts the same patron checks. Each e-library is wrapped in ``ResilientElibrary``
(read cache, breaker, last good data), its cache in Redis too when there is one, so that a
patron's e-book write in one process ends the cached lists of every process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache, RedisReadCache
from ils_gateway.domain.clock import Clock, epoch_seconds
from ils_gateway.elibrary.resilient import ResilientElibrary
from ils_gateway.services.account import AccountService
from ils_gateway.services.context import TenantContext
from ils_gateway.services.ebooks.backends import open_elibrary
from ils_gateway.services.ebooks.bridge import BridgeLimiters, PatronCheckService
from ils_gateway.services.ebooks.service import EbookService


@dataclass(frozen=True)
class EbookRuntime:
    """One tenant's e-book service (None without an e-library) and auth bridge."""

    service: EbookService | None
    bridge: PatronCheckService


@dataclass(frozen=True)
class EbookTenant:
    """What the e-book side needs of a tenant the gateway serves."""

    context: TenantContext
    account: AccountService


@asynccontextmanager
async def open_ebooks(
    tenants: Iterable[EbookTenant],
    clock: Clock,
    *,
    redis_url: str | None = None,
    redis_prefix: str = "ilsgw:",
) -> AsyncIterator[dict[str, EbookRuntime]]:
    """Each tenant's ``EbookRuntime`` by tenant id; e-libraries and Redis closed on exit."""
    async with AsyncExitStack() as stack:
        redis = _redis(stack, redis_url)
        limiters = _limiters(redis, clock, redis_prefix)
        runtimes: dict[str, EbookRuntime] = {}
        for tenant in tenants:
            config = tenant.context.config
            opened = await stack.enter_async_context(open_elibrary(config, clock))
            service = None
            if opened is not None:
                elibrary = ResilientElibrary(
                    opened,
                    tenant_id=config.id,
                    cache=_read_cache(redis, clock, redis_prefix),
                    clock=epoch_seconds(clock),
                )
                service = EbookService(tenant.context, elibrary)
            keys = config.elibrary.bridge_keys if config.elibrary is not None else ()
            bridge = PatronCheckService(config.id, tenant.account, keys, limiters)
            runtimes[config.id] = EbookRuntime(service=service, bridge=bridge)
        yield runtimes


def _redis(stack: AsyncExitStack, redis_url: str | None) -> Any:
    if redis_url is None:
        return None
    import redis.asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    stack.push_async_callback(redis.aclose)
    return redis


def _limiters(redis: Any, clock: Clock, prefix: str) -> BridgeLimiters:
    if redis is None:
        return BridgeLimiters.in_memory(epoch_seconds(clock))
    return BridgeLimiters.in_redis(redis, prefix, epoch_seconds(clock))


def _read_cache(redis: Any, clock: Clock, prefix: str) -> ReadCache:
    if redis is None:
        return MemoryReadCache(clock=epoch_seconds(clock))
    return RedisReadCache(redis, prefix=prefix, clock=epoch_seconds(clock))
