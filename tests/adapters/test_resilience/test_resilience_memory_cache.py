"""The in-process read cache's bounds: a scope is forgotten keep_for after its last write, and
past max_scopes the least recently written scopes go first."""

from __future__ import annotations

import zlib

from resilience_fakes import FakeClock

from ils_gateway.adapters.resilience.cache import CachedRead, MemoryReadCache


def entry(clock: FakeClock) -> CachedRead:
    return CachedRead(b"[]", clock.now, clock.now + 60, ())


async def test_keep_for_counts_from_the_last_write() -> None:
    clock = FakeClock()
    cache = MemoryReadCache(keep_for=100, clock=clock)
    await cache.put("s", "loans", entry(clock))
    clock.advance(90)
    await cache.expire("s", "loans")  # a write keeps the scope (as last good data)
    clock.advance(90)
    kept = await cache.get("s", "loans")
    assert kept is not None and not kept.fresh(clock.now) and kept.value == ()
    clock.advance(10)
    assert await cache.get("s", "loans") is None


async def test_the_least_recently_written_scopes_go_first() -> None:
    clock = FakeClock()
    cache = MemoryReadCache(max_scopes=2, clock=clock)
    await cache.put("a", "loans", entry(clock))
    await cache.put("b", "loans", entry(clock))
    await cache.put("a", "holds", entry(clock))  # a written again: b is now the oldest
    await cache.put("c", "loans", entry(clock))
    assert await cache.get("b", "loans") is None
    assert await cache.get("a", "loans") is not None
    assert await cache.get("a", "holds") is not None
    assert await cache.get("c", "loans") is not None


async def test_past_max_entries_the_oldest_scope_goes_not_all() -> None:
    # Issue 17: bounded by entries; one scope goes at a time, least recently written first.
    clock = FakeClock()
    cache = MemoryReadCache(max_entries=3, clock=clock)
    await cache.put("a", "loans", entry(clock))
    await cache.put("a", "holds", entry(clock))
    await cache.put("b", "loans", entry(clock))
    await cache.put("b", "loans", entry(clock))  # replaced: still three entries
    assert cache.entries == 3
    await cache.put("c", "loans", entry(clock))  # four: a (two entries) goes
    assert await cache.get("a", "loans") is None and await cache.get("a", "holds") is None
    assert await cache.get("b", "loans") is not None
    assert await cache.get("c", "loans") is not None
    assert cache.entries == 2


async def test_past_max_bytes_the_oldest_scope_goes_not_all() -> None:
    # Issue 17: bounded by bytes (the length of the stored payloads).
    clock = FakeClock()
    cache = MemoryReadCache(max_bytes=250, clock=clock)

    def big() -> CachedRead:
        return CachedRead(b"x" * 100, clock.now, clock.now + 60, ())

    await cache.put("a", "loans", big())
    await cache.put("b", "loans", big())
    assert cache.nbytes == 200
    await cache.put("c", "loans", big())  # 300 bytes: a goes
    assert await cache.get("a", "loans") is None
    assert await cache.get("b", "loans") is not None
    assert await cache.get("c", "loans") is not None
    assert cache.nbytes == 200
    await cache.forget("b")
    assert (cache.entries, cache.nbytes) == (1, 100)


async def test_a_forgotten_scope_releases_its_count() -> None:
    clock = FakeClock()
    cache = MemoryReadCache(keep_for=100, clock=clock)
    await cache.put("s", "loans", entry(clock))
    clock.advance(100)
    await cache.put("s", "loans", entry(clock))  # the old scope was forgotten first
    assert (cache.entries, cache.nbytes) == (1, 2)


def loans_entry(clock: FakeClock, n: int) -> CachedRead:
    payload = b'[{"id": "%d", "title": "' % n + "こころ".encode() * 40 + b'"}]'
    return CachedRead(payload, clock.now, clock.now + 60, ("decoded", n))


async def test_past_max_decoded_the_least_recently_used_turn_cold() -> None:
    # Issue 17 (memory): only max_decoded entries keep their decoded value; the others keep
    # their payload deflated, and a hit hands the same JSON back without a value.
    clock = FakeClock()
    cache = MemoryReadCache(max_decoded=2, clock=clock)
    first, second, third = (loans_entry(clock, n) for n in (1, 2, 3))
    await cache.put("a", "loans", first)
    await cache.put("b", "loans", second)
    assert cache.peek("a", "loans") is first  # a used: b is now the least recently used
    await cache.put("c", "loans", third)
    assert cache.hot == 2
    assert cache.nbytes < 3 * len(first.payload)  # b's payload deflated
    assert cache.peek("a", "loans") is first and cache.peek("c", "loans") is third
    cold = cache.peek("b", "loans")  # hot again (a goes cold), without its value
    assert cold is not None and cold.value is None and cold.payload == second.payload
    assert (cold.read_at, cold.fresh_until) == (second.read_at, second.fresh_until)
    deflated = len(zlib.compress(first.payload))
    assert cache.nbytes == len(second.payload) + len(third.payload) + deflated
    cache.keep_decoded("b", "loans", CachedRead(cold.payload, 0, 0, ("decoded", 2)))
    again = cache.peek("b", "loans")
    assert again is not None and again.value == ("decoded", 2)
    assert again.fresh_until == second.fresh_until  # the stored times, not the caller's
    warm = cache.peek("a", "loans")
    assert warm is not None and warm.value is None and warm.payload == first.payload


async def test_a_decoded_value_is_kept_only_for_the_payload_handed_out() -> None:
    clock = FakeClock()
    cache = MemoryReadCache(max_decoded=1, clock=clock)
    await cache.put("a", "loans", loans_entry(clock, 1))
    await cache.put("b", "loans", loans_entry(clock, 2))  # a cold
    cold = cache.peek("a", "loans")
    assert cold is not None and cold.value is None
    newer = loans_entry(clock, 3)
    await cache.put("a", "loans", newer)  # replaced meanwhile
    cache.keep_decoded("a", "loans", CachedRead(cold.payload, 0, 0, ("decoded", 1)))
    assert cache.peek("a", "loans") is newer


async def test_a_cold_entry_keeps_its_expiry_and_is_forgotten_with_its_scope() -> None:
    clock = FakeClock()
    cache = MemoryReadCache(max_decoded=1, clock=clock)
    await cache.put("a", "loans", loans_entry(clock, 1))
    clock.advance(1)
    await cache.expire("a")
    await cache.put("b", "loans", loans_entry(clock, 2))  # a cold
    stale = cache.peek("a", "loans")  # hot again: b cold
    assert stale is not None and not stale.fresh(clock.now)  # the write's mark still holds
    await cache.forget("a")
    assert cache.peek("a", "loans") is None and cache.hot == 0
    deflated = len(zlib.compress(loans_entry(clock, 2).payload))
    assert (cache.entries, cache.nbytes) == (1, deflated)
