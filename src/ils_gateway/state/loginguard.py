"""Failed logins counted per key (a tenant's card, a client address) and temporary locks.

Interface (``LoginGuard``, implemented by ``MemoryLoginGuard`` and ``RedisLoginGuard``)::

    guard = MemoryLoginGuard()
    wait = await guard.locked([card_key, address_key])  # seconds left of a lock, 0 if none
    if wait:
        ...  # answer 429 with Retry-After: wait; nothing goes to the library system
    wait = await guard.delayed([card_key, address_key])  # seconds left of a growing delay
    if wait:
        ...  # answer 429 with Retry-After: wait; nothing goes to the library system
    limit = LoginLimit(failures=10, window=900, lock=900, free=3, delay=1, max_delay=30)
    if await guard.claim(card_key, 60):  # one check of a card at a time
        try:
            ...  # ask the library; on a wrong password:
            wait = await guard.failed(card_key, limit)
            # on success: guard.succeeded(card_key) forgets the failures (and the delay)
        finally:
            await guard.release(card_key)

The failures of a key within the last ``window`` seconds are counted (a sliding window); the one
that reaches ``failures`` locks the key for ``lock`` seconds and starts a fresh count. Before
that, every failure after the first ``free`` ones holds the key back for a delay that doubles
with each failure (``delay``, 2×, 4×… seconds, at most ``max_delay``): until it has passed, the
next attempt is refused without asking the library, so guessing slows down long before the
lock. Keys are hashed before use, so a card number is never kept in clear. The clock is
injected; the Redis guard is shared by every gateway process, so N processes do not allow N
times the guesses.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import LRUCache

from ils_gateway.domain.clock import EpochSeconds


@dataclass(frozen=True, slots=True)
class LoginLimit:
    """``failures`` failed logins within ``window`` seconds lock the key for ``lock`` seconds."""

    failures: int
    window: float
    lock: float
    # Growing delays before the lock: none for the first ``free`` failures, then ``delay``
    # seconds doubling with each further failure, capped at ``max_delay`` (``delay`` 0: none).
    free: int = 0
    delay: float = 0.0
    max_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.failures < 1 or self.window <= 0 or self.lock <= 0:
            raise ValueError("failures must be at least 1, window and lock positive")
        if self.free < 0 or self.delay < 0 or self.max_delay < 0:
            raise ValueError("free, delay and max_delay must not be negative")

    def delay_after(self, count: int) -> float:
        """The seconds the key is held back after its ``count``-th failure in the window."""
        if self.delay <= 0 or count <= self.free:
            return 0.0
        # min() first: the exponent of a long run of failures must not overflow.
        doublings = min(count - self.free - 1, 64)
        return min(self.delay * 2.0**doublings, max(self.max_delay, self.delay))


class LoginGuard(Protocol):
    """Counts failed logins per key and locks a key that failed too often."""

    async def locked(self, keys: Sequence[str]) -> int:
        """Whole seconds until every lock on ``keys`` ends (0 when none is locked)."""
        ...

    async def delayed(self, keys: Sequence[str]) -> int:
        """Whole seconds until every growing delay on ``keys`` has passed (0 when none)."""
        ...

    async def failed(self, key: str, limit: LoginLimit) -> int:
        """Count one failure for ``key`` (holding it back for the delay the count calls for);
        the seconds of the lock it started, else 0."""
        ...

    async def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures and its delay."""
        ...

    async def claim(self, key: str, seconds: float) -> bool:
        """Mark a check of ``key`` as under way (for at most ``seconds``); False when one
        already is, so parallel guesses cannot all pass before the first failure counts."""
        ...

    async def release(self, key: str) -> None:
        """The check of ``key`` is over."""
        ...


def _digest(key: str) -> str:
    return hashlib.sha256(f"login-guard\x00{key}".encode()).hexdigest()[:40]


def _seconds(left: float) -> int:
    return max(1, math.ceil(left)) if left > 0 else 0


class MemoryLoginGuard:
    """Failures and locks in this process's memory (the one-process default)."""

    def __init__(self, *, max_keys: int = 100_000, clock: EpochSeconds = time.time) -> None:
        self._clock = clock
        # digest → times of the failures; digest → locked until. Bounded (least recent go first).
        self._failures: LRUCache[str, tuple[float, ...]] = LRUCache(maxsize=max_keys)
        self._locks: LRUCache[str, float] = LRUCache(maxsize=max_keys)
        self._delays: LRUCache[str, float] = LRUCache(maxsize=max_keys)
        self._busy: LRUCache[str, float] = LRUCache(maxsize=max_keys)

    async def locked(self, keys: Sequence[str]) -> int:
        now = self._clock()
        until = max((self._locks.get(_digest(k), 0.0) for k in keys), default=0.0)
        return _seconds(until - now)

    async def delayed(self, keys: Sequence[str]) -> int:
        now = self._clock()
        until = max((self._delays.get(_digest(k), 0.0) for k in keys), default=0.0)
        return _seconds(until - now)

    async def failed(self, key: str, limit: LoginLimit) -> int:
        now = self._clock()
        slot = _digest(key)
        since = now - limit.window
        times = (*(t for t in self._failures.get(slot, ()) if t > since), now)
        if len(times) < limit.failures:
            self._failures[slot] = times
            delay = limit.delay_after(len(times))
            if delay > 0:
                self._delays[slot] = now + delay
            return 0
        self._failures.pop(slot, None)
        self._delays.pop(slot, None)
        self._locks[slot] = now + limit.lock
        return _seconds(limit.lock)

    async def succeeded(self, key: str) -> None:
        self._failures.pop(_digest(key), None)
        self._delays.pop(_digest(key), None)

    async def claim(self, key: str, seconds: float) -> bool:
        now, slot = self._clock(), _digest(key)
        if self._busy.get(slot, 0.0) > now:
            return False
        self._busy[slot] = now + seconds
        return True

    async def release(self, key: str) -> None:
        self._busy.pop(_digest(key), None)


class RedisLoginGuard:
    """Failures (a sorted set of their times) and locks (the lock's end, with a TTL) in Redis."""

    def __init__(
        self, redis: Any, *, prefix: str = "ilsgw:", clock: EpochSeconds = time.time
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock

    def _count_key(self, key: str) -> str:
        return f"{self._prefix}login:fail:{_digest(key)}"

    def _lock_key(self, key: str) -> str:
        return f"{self._prefix}login:lock:{_digest(key)}"

    def _delay_key(self, key: str) -> str:
        return f"{self._prefix}login:delay:{_digest(key)}"

    def _busy_key(self, key: str) -> str:
        return f"{self._prefix}login:busy:{_digest(key)}"

    async def locked(self, keys: Sequence[str]) -> int:
        return await self._until([self._lock_key(k) for k in keys])

    async def delayed(self, keys: Sequence[str]) -> int:
        return await self._until([self._delay_key(k) for k in keys])

    async def _until(self, redis_keys: list[str]) -> int:
        if not redis_keys:
            return 0
        # The end is stored as the value (epoch seconds), so the injected clock decides.
        values = await self._redis.mget(redis_keys)
        until = max((float(v) for v in values if v is not None), default=0.0)
        return _seconds(until - self._clock())

    async def failed(self, key: str, limit: LoginLimit) -> int:
        now = self._clock()
        count_key = self._count_key(key)
        window_ms = max(1, math.ceil(limit.window * 1000))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(count_key, "-inf", now - limit.window)
            pipe.zadd(count_key, {uuid.uuid4().hex: now})
            pipe.zcard(count_key)
            pipe.pexpire(count_key, window_ms)
            _, _, count, _ = await pipe.execute()
        if int(count) < limit.failures:
            delay = limit.delay_after(int(count))
            if delay > 0:
                delay_ms = max(1, math.ceil(delay * 1000))
                await self._redis.set(self._delay_key(key), repr(now + delay), px=delay_ms)
            return 0
        lock_ms = max(1, math.ceil(limit.lock * 1000))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._lock_key(key), repr(now + limit.lock), px=lock_ms)
            pipe.delete(count_key, self._delay_key(key))
            await pipe.execute()
        return _seconds(limit.lock)

    async def succeeded(self, key: str) -> None:
        await self._redis.delete(self._count_key(key), self._delay_key(key))

    async def claim(self, key: str, seconds: float) -> bool:
        # A safety expiry only (Redis's own clock): release() ends the claim.
        ms = max(1, math.ceil(seconds * 1000))
        return bool(await self._redis.set(self._busy_key(key), "1", nx=True, px=ms))

    async def release(self, key: str) -> None:
        await self._redis.delete(self._busy_key(key))
