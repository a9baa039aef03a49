"""Every tenant's e-book service and auth bridge, opened together with the gateway.

``open_ebooks(tenants, clock, redis_url=…)`` opens each tenant's e-library (starting the
simulator where the tenant asks for it) and the bridge's rate limiters: in memory for one
process, or in Redis when the gateway has a Redis URL, so that every process behind the load
balancer counts the same patron checks. Everything it opened is closed on exit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from ils_gateway.services.account import AccountService
from ils_gateway.services.context import Clock, TenantContext
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
        limiters = await _limiters(stack, clock, redis_url, redis_prefix)
        runtimes: dict[str, EbookRuntime] = {}
        for tenant in tenants:
            config = tenant.context.config
            elibrary = await stack.enter_async_context(open_elibrary(config, clock))
            service = EbookService(tenant.context, elibrary) if elibrary is not None else None
            keys = config.elibrary.bridge_keys if config.elibrary is not None else ()
            bridge = PatronCheckService(config.id, tenant.account, keys, limiters)
            runtimes[config.id] = EbookRuntime(service=service, bridge=bridge)
        yield runtimes


async def _limiters(
    stack: AsyncExitStack, clock: Clock, redis_url: str | None, prefix: str
) -> BridgeLimiters:
    def seconds() -> float:
        return clock().timestamp()

    if redis_url is None:
        return BridgeLimiters.in_memory(seconds)
    import redis.asyncio as aioredis

    redis = aioredis.from_url(redis_url)
    stack.push_async_callback(redis.aclose)
    return BridgeLimiters.in_redis(redis, prefix, seconds)
