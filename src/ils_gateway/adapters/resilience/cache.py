"""Read caches for ``ResilientBackend``: in-process (cachetools) or shared (Redis).

Entries are grouped by *scope* (one patron of one tenant, or a tenant's shared data such as
pickup libraries) and named by a key within it (``"loans"``, ``"item:123"``). An entry is
fresh until its ``fresh_until``; after that it stays as the *last good* answer, served only
(marked stale) when the backend is down, until the cache forgets it after ``keep_for``.

``expire(scope, key=None)`` ends the freshness of a scope's entries (or of one key) without
forgetting them: it records the time, and an entry whose read *started* before that time is no
longer fresh. So a read that raced a patron's write never brings back the pre-write answer as
fresh, in one process or many. Payloads are JSON bytes; the caller encodes and decodes them.
An entry may also carry the decoded ``value`` (immutable: frozen models, tuples): the
in-process cache keeps it, so a hit costs no decoding; the shared cache keeps only the payload.

Times are wall-clock epoch seconds from the injected clock (shared across processes).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ils_gateway.domain.clock import EpochSeconds

_WHOLE_SCOPE = ""


@dataclass(frozen=True, slots=True)
class CachedRead:
    """One cached answer: JSON payload, when its read started, and until when it is fresh."""

    payload: bytes
    read_at: float
    fresh_until: float
    # The decoded answer, when the cache could keep it (in process); None means decode payload.
    value: Any = field(default=None, compare=False, repr=False)

    def fresh(self, now: float) -> bool:
        """True while the entry may be served without asking the backend."""
        return now < self.fresh_until


class ReadCache(Protocol):
    """Where ``ResilientBackend`` keeps fresh answers and last good answers."""

    async def get(self, scope: str, key: str) -> CachedRead | None:
        """The entry, with ``fresh_until`` lowered to 0 when expired since its read started."""
        ...

    async def put(self, scope: str, key: str, entry: CachedRead) -> None:
        """Store an entry (replacing any before)."""
        ...

    async def expire(self, scope: str, key: str | None = None) -> None:
        """End the freshness of the scope's entries (or one key), keeping them as last good."""
        ...


def _apply_expiry(entry: CachedRead, expired_at: float | None) -> CachedRead:
    if expired_at is not None and entry.read_at <= expired_at:
        return replace(entry, fresh_until=0.0)
    return entry


@dataclass(slots=True)
class _Scope:
    written_at: float  # last put or expire: the scope is forgotten keep_for after it
    entries: dict[str, Any]  # {key: CachedRead}, plus expiry marks {"!" + key: time}


class MemoryReadCache:
    """In-process read cache of scopes, each forgotten ``keep_for`` after its last write.

    Entries are kept as given, decoded ``value`` included, so a hit returns it as it is. At
    most ``max_scopes`` scopes are kept; past that the least recently written go first. (A
    plain dict in write order rather than a cachetools ``TTLCache``: a hit is one dict lookup
    and one clock reading, on every cached request.)
    """

    def __init__(
        self,
        *,
        keep_for: float = 24 * 3600,
        max_scopes: int = 10_000,
        clock: EpochSeconds = time.time,
    ) -> None:
        self._clock = clock
        self._keep_for = keep_for
        self._max_scopes = max_scopes
        self._scopes: dict[str, _Scope] = {}  # least recently written first

    async def get(self, scope: str, key: str) -> CachedRead | None:
        return self.peek(scope, key)

    def peek(self, scope: str, key: str, now: float | None = None) -> CachedRead | None:
        """``get`` without awaiting (this cache is in the process), at ``now`` if given."""
        found = self._scopes.get(scope)
        if found is None:
            return None
        if (self._clock() if now is None else now) - found.written_at >= self._keep_for:
            del self._scopes[scope]
            return None
        entries = found.entries
        entry = entries.get(key)
        if entry is None:
            return None
        # No marks (the common case): the entry as stored, no copy.
        whole, mark = entries.get("!" + _WHOLE_SCOPE), entries.get("!" + key)
        if whole is None or (mark is not None and mark > whole):
            whole = mark
        return _apply_expiry(entry, whole)

    async def put(self, scope: str, key: str, entry: CachedRead) -> None:
        self._written(scope)[key] = entry

    async def expire(self, scope: str, key: str | None = None) -> None:
        # Marked even when nothing is cached yet: a read in flight may land after this write.
        self._written(scope)["!" + (key or _WHOLE_SCOPE)] = self._clock()

    def _written(self, scope: str) -> dict[str, Any]:
        """The scope's entries, the scope moved last with its keep_for restarted."""
        now = self._clock()
        found = self._scopes.pop(scope, None)
        entries = found.entries if found and now - found.written_at < self._keep_for else {}
        self._scopes[scope] = _Scope(now, entries)
        self._forget_old(now)
        return entries

    def _forget_old(self, now: float) -> None:
        # Oldest writes first: drop forgotten scopes, then the oldest while over the bound.
        while self._scopes:
            oldest = next(iter(self._scopes))
            if len(self._scopes) <= self._max_scopes and (
                now - self._scopes[oldest].written_at < self._keep_for
            ):
                return
            del self._scopes[oldest]


class RedisReadCache:
    """Read cache shared by many processes: one Redis hash per scope, forgotten after keep_for.

    ``redis`` is a ``redis.asyncio.Redis`` the caller owns (and closes). ``prefix`` namespaces
    every key (e.g. ``"ilsgw:"``). Scopes should already be opaque (hashed) strings: they are
    part of Redis key names.
    """

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str = "ilsgw:",
        keep_for: float = 24 * 3600,
        clock: EpochSeconds = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._keep_for_ms = int(keep_for * 1000)
        self._clock = clock

    def _name(self, scope: str) -> str:
        return f"{self._prefix}cache:{scope}"

    async def get(self, scope: str, key: str) -> CachedRead | None:
        raw, whole_mark, key_mark = await self._redis.hmget(
            self._name(scope), "=" + key, "!" + _WHOLE_SCOPE, "!" + key
        )
        if raw is None:
            return None
        data = json.loads(raw)  # the payload only: a process decodes it for itself
        entry = CachedRead(data["p"].encode(), float(data["r"]), float(data["f"]))
        marks = [float(m) for m in (whole_mark, key_mark) if m is not None]
        return _apply_expiry(entry, max(marks, default=None))

    async def put(self, scope: str, key: str, entry: CachedRead) -> None:
        raw = json.dumps({"p": entry.payload.decode(), "r": entry.read_at, "f": entry.fresh_until})
        name = self._name(scope)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, "=" + key, raw)
            pipe.pexpire(name, self._keep_for_ms)
            await pipe.execute()

    async def expire(self, scope: str, key: str | None = None) -> None:
        name = self._name(scope)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, "!" + (key or _WHOLE_SCOPE), repr(self._clock()))
            pipe.pexpire(name, self._keep_for_ms)
            await pipe.execute()
