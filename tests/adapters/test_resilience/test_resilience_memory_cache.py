"""The in-process read cache's bounds: a scope is forgotten keep_for after its last write, and
past max_scopes the least recently written scopes go first."""

from __future__ import annotations

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
