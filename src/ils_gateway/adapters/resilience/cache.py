"""Read caches for ``ResilientBackend``: in-process (cachetools) or shared (Redis).

Entries are grouped by *scope* (one patron of one tenant, ``patron_scope(...)``, or a tenant's
shared data such as pickup libraries, ``tenant_scope(...)``) and named by a key within it
(``"loans"``, ``"item:123"``). An entry is fresh until its ``fresh_until``; after that it stays
as the *last good* answer, served only (marked stale) when the backend is down, until the cache
forgets it: a patron's scope ``personal_keep_for`` after its last write (minutes: it holds
personal data; ``GatewaySettings.personal_data_minutes``), any other ``keep_for`` after it.
``forget(scope)`` drops a scope at once (a patron's, at logout).

The shared cache names scopes and keys in Redis by their keyed hash and seals every entry
(``ils_gateway.sealing``): Redis shows no card, title or item id. When Redis does not answer
(``SharedStateUnavailable`` from the runtime's guarded client) the shared cache is bypassed:
a read is a miss (the caller asks the library system), a write is dropped, and nothing fails.

``expire(scope, key=None)`` ends the freshness of a scope's entries (or of one key) without
forgetting them: it records the time, and an entry whose read *started* before that time is no
longer fresh. So a read that raced a patron's write never brings back the pre-write answer as
fresh, in one process or many. Payloads are JSON bytes; the caller encodes and decodes them.
An entry may also carry the decoded ``value`` (immutable: frozen models, tuples): the
in-process cache keeps it for its most recently used entries (``max_decoded``), so a hit costs
no decoding, and keeps the others as deflated JSON; the shared cache keeps only the payload.

Times are wall-clock epoch seconds from the injected clock (shared across processes).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import structlog

from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.shared_state import SharedStateUnavailable
from ils_gateway.nearcache import NearCache
from ils_gateway.sealing import SealBroken, SealedState

_log = structlog.get_logger("ils_gateway.adapters.resilience.cache")

_WHOLE_SCOPE = ""
_PATRON = "patron\x00"

#: The in-process read cache's bounds by default: entries, and bytes of their payloads.
DEFAULT_MAX_ENTRIES = 50_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Entries the in-process read cache keeps decoded (hot), by default; the others are kept as
#: deflated JSON and decoded again when asked for.
DEFAULT_MAX_DECODED = 1024

#: How long a patron's cached data is kept (as last good data) after its last write, by default.
DEFAULT_PERSONAL_KEEP_FOR = 5 * 60.0


def patron_scope(*parts: str) -> str:
    """The scope of one patron's data (e.g. tenant, system, patron id): kept only briefly."""
    return _PATRON + "\x00".join(parts)


def tenant_scope(*parts: str) -> str:
    """The scope of data every patron of a tenant shares (pickup libraries, items, titles)."""
    return "tenant\x00" + "\x00".join(parts)


def is_personal(scope: str) -> bool:
    """True for a scope made by ``patron_scope``."""
    return scope.startswith(_PATRON)


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

    async def forget(self, scope: str) -> None:
        """Drop the scope's entries at once (a patron's data at logout)."""
        ...


def _apply_expiry(entry: CachedRead, expired_at: float | None) -> CachedRead:
    if expired_at is not None and entry.read_at <= expired_at:
        return replace(entry, fresh_until=0.0)
    return entry


@dataclass(slots=True)
class _Scope:
    written_at: float  # last put or expire: the scope is forgotten keep_for after it
    entries: dict[str, Any]  # {key: CachedRead}, plus expiry marks {"!" + key: time}
    keep_for: float  # its kind's (personal or shared), kept here for the hot path
    count: int = 0  # entries (not expiry marks) held
    nbytes: int = 0  # the length of their stored payloads: the approximate memory they hold


class _Scopes:
    """Scopes of one lifetime, least recently written first."""

    __slots__ = ("keep_for", "scopes")

    def __init__(self, keep_for: float) -> None:
        self.keep_for = keep_for
        self.scopes: dict[str, _Scope] = {}


# The ``value`` of a cold entry whose payload is kept deflated (zlib): never handed out so.
_DEFLATED: Any = object()
# Payloads shorter than this are kept as they are when cold (deflating gains nothing).
_DEFLATE_FROM = 128


class MemoryReadCache:
    """In-process read cache of scopes, each forgotten ``keep_for`` after its last write
    (a patron's: ``personal_keep_for``).

    Bounds (issue 17: one process's memory): at most ``max_scopes`` scopes of each lifetime,
    and at most ``max_entries`` entries whose stored payloads come to at most ``max_bytes`` in
    all (``GatewaySettings.read_cache_entries`` and ``read_cache_bytes``); past either the
    least recently written scopes go first, one at a time.

    Hot and cold: the ``max_decoded`` entries used most recently (put, or hit) are *hot*, kept
    as given, decoded ``value`` included, so a hit returns it as it is (no decoding, the same
    frozen objects: the rendered-body memo recognises them). Past that bound the least
    recently used entry turns *cold*: its decoded value is dropped (a decoded list of loans
    holds several times its JSON) and its payload is kept deflated (zlib; about a quarter of
    the JSON). A hit on a cold entry inflates the payload and hands the entry back without a
    value, hot again; the caller decodes it and gives the decoded entry back
    (``keep_decoded``). ``nbytes`` counts the stored payloads (deflated when cold).
    (Plain dicts in write order rather than a cachetools ``TTLCache``: a hit is one dict
    lookup and one clock reading, on every cached request.)
    """

    def __init__(
        self,
        *,
        keep_for: float = 24 * 3600,
        personal_keep_for: float = DEFAULT_PERSONAL_KEEP_FOR,
        max_scopes: int = 10_000,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_decoded: int = DEFAULT_MAX_DECODED,
        clock: EpochSeconds = time.time,
    ) -> None:
        self._clock = clock
        self._shared = _Scopes(keep_for)
        self._personal = _Scopes(personal_keep_for)
        self._max_scopes = max_scopes
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_decoded = max_decoded
        self.entries = 0  # held now, in every scope
        self.nbytes = 0
        # The hot entries, least recently used first: {(scope, key): None}.
        self._hot: dict[tuple[str, str], None] = {}

    @property
    def hot(self) -> int:
        """Entries held hot (their decoded value kept, payload as given)."""
        return len(self._hot)

    def _drop(self, kind: _Scopes, scope: str) -> None:
        found = kind.scopes.pop(scope, None)
        if found is not None:
            self.entries -= found.count
            self.nbytes -= found.nbytes
            hot = self._hot
            for key in found.entries:
                if key[:1] != "!":
                    hot.pop((scope, key), None)

    def _of(self, scope: str) -> _Scopes:
        return self._personal if scope.startswith(_PATRON) else self._shared

    async def get(self, scope: str, key: str) -> CachedRead | None:
        return self.peek(scope, key)

    def peek(self, scope: str, key: str, now: float | None = None) -> CachedRead | None:
        """``get`` without awaiting (this cache is in the process), at ``now`` if given."""
        found = self._personal.scopes.get(scope) or self._shared.scopes.get(scope)
        if found is None:
            return None
        if (self._clock() if now is None else now) - found.written_at >= found.keep_for:
            self._drop(self._of(scope), scope)
            return None
        entries = found.entries
        entry = entries.get(key)
        if entry is None:
            return None
        hot = self._hot
        used = (scope, key)
        if used in hot:  # most recently used now
            del hot[used]
            hot[used] = None
        else:
            entry = self._warm(found, key, entry, used)
        # No marks (the common case): the entry as stored, no copy.
        whole, mark = entries.get("!" + _WHOLE_SCOPE), entries.get("!" + key)
        if whole is None or (mark is not None and mark > whole):
            whole = mark
        return _apply_expiry(entry, whole)

    def _warm(self, found: _Scope, key: str, entry: CachedRead, used: tuple[str, str]) -> Any:
        """A cold entry hot again: its payload as given (inflated), no value yet."""
        if entry.value is _DEFLATED:
            payload = zlib.decompress(entry.payload)
            found.nbytes += len(payload) - len(entry.payload)
            self.nbytes += len(payload) - len(entry.payload)
            entry = CachedRead(payload, entry.read_at, entry.fresh_until)
            found.entries[key] = entry
        self._hot[used] = None
        self._cool()
        return entry

    def keep_decoded(self, scope: str, key: str, entry: CachedRead) -> None:
        """Keep ``entry`` (the entry ``peek`` handed out, its decoded value added) in place of
        the stored one, if that is still the one handed out (the same payload)."""
        found = self._personal.scopes.get(scope) or self._shared.scopes.get(scope)
        if found is None:
            return
        stored = found.entries.get(key)
        if stored is not None and stored.payload is entry.payload and stored.value is None:
            found.entries[key] = replace(stored, value=entry.value)

    async def put(self, scope: str, key: str, entry: CachedRead) -> None:
        written = self._written(scope)
        old = written.entries.get(key)
        if old is not None:
            written.count -= 1
            written.nbytes -= len(old.payload)
            self.entries -= 1
            self.nbytes -= len(old.payload)
        written.entries[key] = entry
        size = len(entry.payload)
        written.count += 1
        written.nbytes += size
        self.entries += 1
        self.nbytes += size
        used = (scope, key)
        hot = self._hot
        hot.pop(used, None)
        hot[used] = None
        self._cool()
        self._shrink()

    def _cool(self) -> None:
        """Past ``max_decoded`` hot entries, the least recently used turn cold."""
        hot = self._hot
        while len(hot) > self.max_decoded:
            scope, key = used = next(iter(hot))
            del hot[used]
            found = self._personal.scopes.get(scope) or self._shared.scopes.get(scope)
            entry = found.entries.get(key) if found is not None else None
            if found is None or entry is None:
                continue
            payload = entry.payload
            if len(payload) >= _DEFLATE_FROM:
                deflated = zlib.compress(payload)
                if len(deflated) < len(payload):
                    found.nbytes += len(deflated) - len(payload)
                    self.nbytes += len(deflated) - len(payload)
                    found.entries[key] = CachedRead(
                        deflated, entry.read_at, entry.fresh_until, _DEFLATED
                    )
                    continue
            if entry.value is not None:
                found.entries[key] = CachedRead(payload, entry.read_at, entry.fresh_until)

    async def expire(self, scope: str, key: str | None = None) -> None:
        # Marked even when nothing is cached yet: a read in flight may land after this write.
        self._written(scope).entries["!" + (key or _WHOLE_SCOPE)] = self._clock()

    async def forget(self, scope: str) -> None:
        self._drop(self._of(scope), scope)

    def _written(self, scope: str) -> _Scope:
        """The scope, moved last with its keep_for restarted."""
        now = self._clock()
        kind = self._of(scope)
        found = kind.scopes.pop(scope, None)
        if found is not None and now - found.written_at < kind.keep_for:
            found.written_at = now
        else:
            if found is not None:
                kind.scopes[scope] = found  # dropped the usual way (its hot entries too)
                self._drop(kind, scope)
            found = _Scope(now, {}, kind.keep_for)
        kind.scopes[scope] = found
        self._forget_old(kind, now)
        return found

    def _shrink(self) -> None:
        # Over a bound: the least recently written scope of either lifetime goes, one at a time.
        while self.entries > self.max_entries or self.nbytes > self.max_bytes:
            heads = [
                (kind.scopes[next(iter(kind.scopes))].written_at, i, kind)
                for i, kind in enumerate((self._personal, self._shared))
                if kind.scopes
            ]
            if not heads:
                return
            kind = min(heads, key=lambda h: (h[0], h[1]))[2]
            self._drop(kind, next(iter(kind.scopes)))

    def _forget_old(self, kind: _Scopes, now: float) -> None:
        # Oldest writes first: drop forgotten scopes, then the oldest while over the bound.
        scopes = kind.scopes
        while scopes:
            oldest = next(iter(scopes))
            if len(scopes) <= self._max_scopes and now - scopes[oldest].written_at < kind.keep_for:
                return
            self._drop(kind, oldest)


class RedisReadCache:
    """Read cache shared by many processes: one Redis hash per scope, forgotten after keep_for
    (a patron's: ``personal_keep_for``).

    ``redis`` is a ``redis.asyncio.Redis`` the caller owns (and closes). ``prefix`` namespaces
    every key (e.g. ``"ilsgw:"``). The hash of a scope is named ``<prefix>cache:<keyed hash of
    the scope>``, its fields by the keyed hash of their key, and each entry is sealed, bound to
    its scope and key (``sealed``; ``ils_gateway.sealing``).

    ``near`` (optional): the process's ``NearCache``. An entry read from Redis is kept in it
    (with its decoded value once the caller decoded it: ``keep_decoded``), so the next hits in
    this process need neither Redis nor decoding (``peek``); expiring or forgetting a scope
    publishes its name so every process drops its copy at once. A kept entry is served no
    longer than the scope's keep_for after it was kept.
    """

    def __init__(
        self,
        redis: Any,
        *,
        sealed: SealedState,
        prefix: str = "ilsgw:",
        keep_for: float = 24 * 3600,
        personal_keep_for: float = DEFAULT_PERSONAL_KEEP_FOR,
        clock: EpochSeconds = time.time,
        near: NearCache | None = None,
    ) -> None:
        self._redis = redis
        self._sealed = sealed
        self._prefix = prefix
        self._keep_for_ms = int(keep_for * 1000)
        self._personal_keep_for_ms = int(personal_keep_for * 1000)
        self._clock = clock
        self._near = near
        if near is None:  # no sync peek: the caller awaits get
            self.peek = None  # type: ignore[method-assign,assignment]  # absent without a near cache

    def _name(self, scope: str) -> str:
        return f"{self._prefix}cache:{self._sealed.name('cache', scope)}"

    def _field(self, key: str) -> str:
        return self._sealed.name("cache-key", key)

    def _keep_ms(self, scope: str) -> int:
        return self._personal_keep_for_ms if is_personal(scope) else self._keep_for_ms

    def peek(self, scope: str, key: str, now: float | None = None) -> CachedRead | None:
        """The entry kept in this process (near cache), without awaiting; None if not kept."""
        near = self._near
        if near is None or not near.active:
            return None
        kept = near.get("c:" + self._name(scope))
        if kept is None:
            return None
        found = kept.get(key)
        if found is None:
            return None
        entry, kept_at = found
        if (self._clock() if now is None else now) - kept_at >= self._keep_ms(scope) / 1000:
            return None
        return entry  # type: ignore[no-any-return]  # the CachedRead kept by _keep

    def keep_decoded(self, scope: str, key: str, entry: CachedRead) -> None:
        """Keep ``entry`` (a kept entry with its decoded value added) in place of the kept one."""
        near = self._near
        if near is None or not near.active:
            return
        kept = near.get("c:" + self._name(scope))
        if kept is not None and key in kept and kept[key][0].payload is entry.payload:
            kept[key] = (entry, kept[key][1])

    def _keep(self, name: str, key: str, entry: CachedRead, seq: int) -> None:
        near = self._near
        assert near is not None
        kept = near.get("c:" + name)
        if kept is None:
            kept = {}
            near.put("c:" + name, kept, seq)
        if seq == near.seq:
            kept[key] = (entry, self._clock())

    async def _invalidate(self, name: str) -> None:
        near = self._near
        if near is not None:
            near.invalidate("c:" + name)
            await self._redis.publish(near.channel, "c:" + name)

    async def get(self, scope: str, key: str) -> CachedRead | None:
        near = self._near
        seq = 0
        if near is not None:
            hit = self.peek(scope, key)
            if hit is not None:
                return hit
            seq = near.seq
        name, field = self._name(scope), self._field(key)
        try:
            raw, whole_mark, key_mark = await self._redis.hmget(
                name, "=" + field, "!" + _WHOLE_SCOPE, "!" + field
            )
        except SharedStateUnavailable:  # bypassed: the caller asks the library system
            _log.warning("read_cache_bypassed", operation="get")
            return None
        if raw is None:
            return None
        try:  # the payload only: a process decodes it for itself
            data = self._sealed.open_json(raw, context=f"{name}={field}")
        except SealBroken:  # sealed under another secret: as if not cached
            return None
        entry = CachedRead(data["p"].encode(), float(data["r"]), float(data["f"]))
        marks = [float(m) for m in (whole_mark, key_mark) if m is not None]
        entry = _apply_expiry(entry, max(marks, default=None))
        if near is not None:
            self._keep(name, key, entry, seq)
        return entry

    async def put(self, scope: str, key: str, entry: CachedRead) -> None:
        name, field = self._name(scope), self._field(key)
        plain = {"p": entry.payload.decode(), "r": entry.read_at, "f": entry.fresh_until}
        sealed = self._sealed.seal_json(plain, context=f"{name}={field}")
        await self._send(name, "=" + field, sealed, scope, "put")

    async def expire(self, scope: str, key: str | None = None) -> None:
        name = self._name(scope)
        mark = "!" + (_WHOLE_SCOPE if key is None else self._field(key))
        await self._send(name, mark, repr(self._clock()), scope, "expire")
        try:
            await self._invalidate(name)
        except SharedStateUnavailable:
            _log.warning("read_cache_bypassed", operation="expire")

    async def forget(self, scope: str) -> None:
        name = self._name(scope)
        try:
            await self._redis.delete(name)
            await self._invalidate(name)
        except SharedStateUnavailable:  # Redis forgets it by itself after keep_for
            _log.warning("read_cache_bypassed", operation="forget")

    async def _send(self, name: str, field: str, value: Any, scope: str, operation: str) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(name, field, value)
                pipe.pexpire(name, self._keep_ms(scope))
                await pipe.execute()
        except SharedStateUnavailable:  # dropped: the cache is never a reason to fail
            _log.warning("read_cache_bypassed", operation=operation)
