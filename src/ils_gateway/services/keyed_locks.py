"""One holder at a time per key, in this process (``KeyedLocks``): work on the same card waits
its turn instead of running side by side; a key's lock is dropped when nobody holds or waits
for it, so the map never outgrows the checks under way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """An ``asyncio.Lock`` per key, made on first use and forgotten when free."""

    def __init__(self) -> None:
        # key → (lock, how many hold it or wait for it)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def one_at_a_time(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the block, waiting while another task holds it."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock_now, users_now = self._locks[key]
            if users_now <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock_now, users_now - 1)
