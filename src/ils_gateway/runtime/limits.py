"""The API's limit on anonymous catalog lookups (issue 15), over the process's Redis client.

``lookup_limiter(settings, redis)``: a fixed-window limiter (``state.ratelimit``) of
``settings.anonymous_lookup_limit``, in Redis when the gateway has one (every process counts
the same hits), else in this process's memory.
"""

from __future__ import annotations

from typing import Any

from ils_gateway.domain.clock import epoch_seconds
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.shared import shared_sealing
from ils_gateway.state.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

LOOKUP_LIMITER = "anonymous-lookup"


def lookup_limiter(settings: GatewaySettings, redis: Any = None) -> RateLimiter:
    """The limiter of anonymous lookups per client address and tenant."""
    seconds = epoch_seconds(settings.clock)
    limit = settings.anonymous_lookup_limit
    if redis is None:
        return MemoryRateLimiter(LOOKUP_LIMITER, limit, clock=seconds)
    return RedisRateLimiter(
        redis,
        LOOKUP_LIMITER,
        limit,
        sealed=shared_sealing(settings),
        prefix=settings.redis_prefix,
        clock=seconds,
    )
