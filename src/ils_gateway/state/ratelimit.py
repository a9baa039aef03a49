"""Fixed-window rate limits, e.g. login attempts per card and e-library auth-bridge calls.

Interface (``RateLimiter``, implemented by ``MemoryRateLimiter`` and ``RedisRateLimiter``)::

    limiter = MemoryRateLimiter("login", RateLimit(limit=5, window=300))
    decision = await limiter.hit(f"{tenant_id}:{card_number}")
    if not decision.allowed:
        ...  # answer 429 with Retry-After: decision.retry_after
    await limiter.reset(key)  # e.g. after a successful login

A window is ``window`` seconds long and aligned to the clock (``floor(now / window)``); at most
``limit`` hits are allowed in it. Keys are hashed before use, so a card number in a key is never
kept in clear; in Redis by a keyed hash (HMAC under the server secret, ``ils_gateway.sealing``),
so that trying every card number cannot tell whose counts they are. The clock is injected; the
Redis limiter is shared by every process.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import TTLCache

from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.sealing import SealedState


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` hits per ``window`` seconds."""

    limit: int
    window: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("limit must be at least 1 and window positive")


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether one hit is allowed, how many remain in the window, and when to try again."""

    allowed: bool
    remaining: int
    retry_after: int  # whole seconds until the window ends (0 when allowed)


class RateLimiter(Protocol):
    """Counts hits per key and says whether each is allowed."""

    async def hit(self, key: str) -> RateDecision:
        """Count one hit for ``key`` and decide."""
        ...

    async def reset(self, key: str) -> None:
        """Forget ``key``'s hits in the current window."""
        ...


def _digest(name: str, key: str) -> str:
    return hashlib.sha256(f"{name}\x00{key}".encode()).hexdigest()[:40]


class _Windows:
    def __init__(self, limit: RateLimit, clock: EpochSeconds) -> None:
        self.limit = limit
        self.clock = clock

    def current(self) -> tuple[int, float]:
        """The current window's number and the seconds left in it."""
        now = self.clock()
        index = math.floor(now / self.limit.window)
        return index, (index + 1) * self.limit.window - now

    def decide(self, count: int, left: float) -> RateDecision:
        allowed = count <= self.limit.limit
        return RateDecision(
            allowed=allowed,
            remaining=max(0, self.limit.limit - count),
            retry_after=0 if allowed else max(1, math.ceil(left)),
        )


class MemoryRateLimiter:
    """Rate limits in this process's memory (the one-process default)."""

    def __init__(
        self,
        name: str,
        limit: RateLimit,
        *,
        max_keys: int = 100_000,
        clock: EpochSeconds = time.time,
    ) -> None:
        self._name = name
        self._windows = _Windows(limit, clock)
        self._counts: TTLCache[tuple[str, int], int] = TTLCache(
            maxsize=max_keys, ttl=limit.window, timer=clock
        )

    async def hit(self, key: str) -> RateDecision:
        index, left = self._windows.current()
        slot = (_digest(self._name, key), index)
        count = self._counts.get(slot, 0) + 1
        self._counts[slot] = count
        return self._windows.decide(count, left)

    async def reset(self, key: str) -> None:
        index, _ = self._windows.current()
        self._counts.pop((_digest(self._name, key), index), None)


class RedisRateLimiter:
    """Rate limits in Redis (INCR on one key per window), shared by every process; each
    counter is named ``<prefix>rl:<name>:<keyed hash of the key>:<window>``."""

    def __init__(
        self,
        redis: Any,
        name: str,
        limit: RateLimit,
        *,
        sealed: SealedState,
        prefix: str = "ilsgw:",
        clock: EpochSeconds = time.time,
    ) -> None:
        self._redis = redis
        self._sealed = sealed
        self._name = name
        self._prefix = prefix
        self._windows = _Windows(limit, clock)

    def _slot(self, key: str, index: int) -> str:
        return f"{self._prefix}rl:{self._name}:{self._sealed.name('rl', self._name, key)}:{index}"

    async def hit(self, key: str) -> RateDecision:
        index, left = self._windows.current()
        slot = self._slot(key, index)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(slot)
            pipe.pexpire(slot, max(1, math.ceil(left * 1000)) + 1000)
            count, _ = await pipe.execute()
        return self._windows.decide(int(count), left)

    async def reset(self, key: str) -> None:
        index, _ = self._windows.current()
        await self._redis.delete(self._slot(key, index))
