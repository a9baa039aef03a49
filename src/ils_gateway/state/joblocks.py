"""Job locks shared by every gateway process: at most one holder of a name at a time.

Interface (``JobLocks``; ``RedisJobLocks`` here, ``MemoryJobLocks`` for one process, and the
store's ``LeaseRepository`` when there is no Redis)::

    if await locks.acquire("job:notices_due_reminder:akiruno", holder, timedelta(minutes=15)):
        try:
            ...  # run the job
        finally:
            await locks.release("job:notices_due_reminder:akiruno", holder)

``acquire`` takes the name for ``ttl`` (renews it when ``holder`` has it already) and answers
False while another holder has it; a holder that dies loses it when the ttl ends. ``release``
gives it back only if ``holder`` still has it. In Redis: ``SET key holder NX PX ttl`` (and a
compare-and-delete script for the release), so every process sharing the Redis agrees.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Protocol

from ils_gateway.domain.clock import EpochSeconds


class JobLocks(Protocol):
    """Expiring named locks shared by the processes of one deployment."""

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take (or renew) ``name`` for ``ttl``; False while another holder has it."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Give ``name`` up early (only if ``holder`` still has it)."""
        ...


class MemoryJobLocks:
    """Locks in this process's memory (one process; tests)."""

    def __init__(self, clock: EpochSeconds = time.time) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        now = self._clock()
        current = self._held.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._held[name] = (holder, now + ttl.total_seconds())
        return True

    async def release(self, name: str, holder: str) -> None:
        current = self._held.get(name)
        if current is not None and current[0] == holder:
            del self._held[name]


# Renew only our own lock; take a free one. KEYS[1] lock, ARGV[1] holder, ARGV[2] ttl ms.
_ACQUIRE = """
local owner = redis.call('GET', KEYS[1])
if owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisJobLocks:
    """Locks in Redis (``<prefix>joblock:<name>``), shared by every process using it."""

    def __init__(self, redis: Any, *, prefix: str = "ilsgw:") -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self._prefix}joblock:{name}"

    async def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        ms = max(1, int(ttl.total_seconds() * 1000))
        # The common case in one round trip: SET NX PX.
        if await self._redis.set(self._key(name), holder, nx=True, px=ms):
            return True
        return bool(await self._redis.eval(_ACQUIRE, 1, self._key(name), holder, str(ms)))

    async def release(self, name: str, holder: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._key(name), holder)
