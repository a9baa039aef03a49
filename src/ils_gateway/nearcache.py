"""``NearCache``: decoded values of shared state kept in this process, in front of Redis.

Sessions and cached reads live in Redis so that every process sees the same; reading them
there on every request (a round trip, an AES-GCM open, a validation) costs more than the rest
of a cached request. The near cache keeps what this process last read or wrote, decoded (frozen
models, ``CachedRead`` with its decoded value), and drops it when another process says it
changed: every write that others must see at once (a logout, a session's changed flag or
extra, a cache scope expired or forgotten) publishes the entry's name on a Redis channel that
every process listens to (``runtime.shared``), and each process drops the entry on the message.

It is only trusted while that channel is listened to: until the subscription is confirmed,
and from the moment the connection to it fails, ``active`` is False, nothing is served or
kept, and everything kept is dropped (a message may have been missed), so a Redis restart or
a dropped connection never leaves a stale entry behind.

A read that raced an invalidation is not kept: ``put`` takes the ``seq`` read before the
Redis read started and keeps the value only if no invalidation came since. Entries are
bounded (``max_entries``; the oldest written go first), and each keeps the local time it was
written, so a caller can bound its age. Pure data structure: the listening is in
``runtime.shared``.
"""

from __future__ import annotations

import asyncio
from typing import Any


class NearCache:
    """Process-local decoded values by name, dropped on invalidation (see the module)."""

    __slots__ = ("_entries", "active", "changed", "channel", "max_entries", "seq")

    def __init__(self, channel: str = "ilsgw:invalidate", max_entries: int = 100_000) -> None:
        self.channel = channel  # the Redis channel invalidations are published on
        self._entries: dict[str, Any] = {}
        self.max_entries = max_entries
        self.active = False
        self.seq = 0
        self.changed: asyncio.Event | None = None  # set on every change (tests wait on it)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> Any:
        """The value kept under ``name``, or None (always None while not active)."""
        if not self.active:
            return None
        return self._entries.get(name)

    def put(self, name: str, value: Any, seq: int) -> None:
        """Keep ``value`` if active and nothing was invalidated since ``seq`` was read."""
        if not self.active or seq != self.seq:
            return
        entries = self._entries
        entries.pop(name, None)
        entries[name] = value
        if len(entries) > self.max_entries:
            del entries[next(iter(entries))]

    def invalidate(self, name: str) -> None:
        """Drop ``name`` (a message from the channel, or this process's own write)."""
        self.seq += 1
        self._entries.pop(name, None)
        if self.changed is not None:
            self.changed.set()

    def start(self) -> None:
        """The channel is listened to: from now on values may be kept."""
        self._reset(active=True)

    def stop(self) -> None:
        """The channel is lost: drop everything and keep nothing until ``start``."""
        self._reset(active=False)

    def _reset(self, *, active: bool) -> None:
        self.seq += 1
        self._entries.clear()
        self.active = active
        if self.changed is not None:
            self.changed.set()
