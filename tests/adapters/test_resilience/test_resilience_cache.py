"""Read caches, in-process and on the real Redis: freshness, expiry that keeps last good data,
and a read that raced a write never coming back fresh."""

from __future__ import annotations

import pytest
from resilience_fakes import FakeClock, FakeLibrary, RecordingSleep, patron

from ils_gateway.adapters.resilience.backend import ResilientBackend
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.cache import (
    CachedRead,
    MemoryReadCache,
    ReadCache,
    RedisReadCache,
    patron_scope,
    tenant_scope,
)
from ils_gateway.adapters.resilience.freshness import track_freshness
from ils_gateway.sealing import SealedState
from sealed_state import SEALED


@pytest.fixture(params=["memory", "redis"])
def make_cache(request: pytest.FixtureRequest, clock: FakeClock):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        return lambda: MemoryReadCache(keep_for=3600, personal_keep_for=300, clock=clock)
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: RedisReadCache(
        client, sealed=SEALED, prefix=prefix, keep_for=3600, personal_keep_for=300, clock=clock
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def entry(clock: FakeClock, fresh_for: float = 60, payload: bytes = b'["x"]') -> CachedRead:
    return CachedRead(payload, clock.now, clock.now + fresh_for)


async def test_round_trip_and_freshness(make_cache, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache = make_cache()
    assert await cache.get("s1", "loans") is None
    await cache.put("s1", "loans", entry(clock, payload='["貸出"]'.encode()))
    got = await cache.get("s1", "loans")
    assert got == entry(clock, payload='["貸出"]'.encode())
    assert got is not None and got.fresh(clock.now + 59) and not got.fresh(clock.now + 60)
    assert await cache.get("s2", "loans") is None


async def test_expire_keeps_last_good_but_not_fresh(make_cache, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache = make_cache()
    await cache.put("s1", "loans", entry(clock))
    await cache.put("s1", "holds", entry(clock))
    await cache.put("s2", "loans", entry(clock))
    clock.advance(1)
    await cache.expire("s1")
    for key in ("loans", "holds"):
        got = await cache.get("s1", key)
        assert got is not None and not got.fresh(clock.now) and got.payload == b'["x"]'
    other = await cache.get("s2", "loans")
    assert other is not None and other.fresh(clock.now)
    clock.advance(1)
    await cache.put("s1", "loans", entry(clock))  # read after the write: fresh again
    got = await cache.get("s1", "loans")
    assert got is not None and got.fresh(clock.now)


async def test_expire_one_key(make_cache, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache = make_cache()
    await cache.put("shared", "item:1", entry(clock))
    await cache.put("shared", "item:2", entry(clock))
    await cache.expire("shared", "item:1")
    one, two = await cache.get("shared", "item:1"), await cache.get("shared", "item:2")
    assert one is not None and not one.fresh(clock.now)
    assert two is not None and two.fresh(clock.now)


async def test_a_read_that_started_before_a_write_is_not_fresh(make_cache, clock: FakeClock):  # type: ignore[no-untyped-def]
    cache: ReadCache = make_cache()
    started = entry(clock)  # a read starts ...
    clock.advance(0.5)
    await cache.expire("s1")  # ... a write by the same patron ends ...
    clock.advance(0.5)
    await cache.put("s1", "loans", started)  # ... and the read's (pre-write) answer lands
    got = await cache.get("s1", "loans")
    assert got is not None and not got.fresh(clock.now)


async def test_memory_cache_forgets_after_keep_for(clock: FakeClock) -> None:
    cache = MemoryReadCache(keep_for=100, clock=clock)
    await cache.put("s1", "loans", entry(clock))
    clock.advance(101)
    assert await cache.get("s1", "loans") is None


async def test_two_processes_share_freshness_and_stale_data_through_redis(
    redis_client, redis_prefix: str, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    ils = FakeLibrary()
    ils.lend("p1", "i1")

    def process(name: str) -> ResilientBackend:
        return ResilientBackend(
            ils,
            tenant_id="tokyo-a",
            cache=RedisReadCache(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock),
            breaker=CircuitBreaker(name, failure_threshold=1, clock=clock),
            clock=clock,
            sleep=RecordingSleep(),
        )

    a, b = process("a"), process("b")
    p1 = patron("p1")
    loans = await a.list_loans(p1)
    assert await b.list_loans(p1) == loans  # answered from the shared cache
    assert ils.calls["list_loans"] == 1
    await a.renew(p1, "i1")  # a's write drops b's fresh answer too
    renewed = await b.list_loans(p1)
    assert renewed[0].renewals_used == 1 and ils.calls["list_loans"] == 2
    clock.advance(3600)
    ils.down = True
    with track_freshness() as freshness:
        assert await a.list_loans(p1) == renewed
    assert freshness.stale


async def test_a_failing_cache_does_not_fail_reads(clock: FakeClock) -> None:
    class BrokenCache:
        async def get(self, scope: str, key: str) -> CachedRead | None:
            raise ConnectionError("redis down")

        async def put(self, scope: str, key: str, entry: CachedRead) -> None:
            raise ConnectionError("redis down")

        async def expire(self, scope: str, key: str | None = None) -> None:
            raise ConnectionError("redis down")

    ils = FakeLibrary()
    backend = ResilientBackend(ils, tenant_id="t", cache=BrokenCache(), clock=clock)
    assert await backend.list_holds(patron("p1")) == []
    await backend.place_hold(patron("p1"), "i1", "CEN")
    assert backend.metrics["cache_errors"] >= 3


async def test_redis_names_are_keyed_and_entries_sealed(redis_client, redis_prefix, clock) -> None:  # type: ignore[no-untyped-def]
    cache = RedisReadCache(
        redis_client, sealed=SEALED, prefix=redis_prefix, personal_keep_for=300, clock=clock
    )
    scope = patron_scope("tokyo-a", "ils", "20001234567")
    await cache.put(scope, "item:2000105", entry(clock, payload='["ぐりとぐら"]'.encode()))
    await cache.expire(scope, "item:2000105")
    (name,) = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    stored = b"".join(p for kv in (await redis_client.hgetall(name)).items() for p in kv)
    for clear in (b"20001234567", b"tokyo-a", b"2000105", "ぐりとぐら".encode(), b"item"):
        assert clear not in name and clear not in stored
    assert 0 < await redis_client.pttl(name) <= 300_000  # a patron's scope: minutes
    got = await cache.get(scope, "item:2000105")
    assert got is not None and got.payload == '["ぐりとぐら"]'.encode() and not got.fresh(clock.now)
    # Another deployment's secret names other keys and opens nothing.
    other = RedisReadCache(
        redis_client, sealed=SealedState(b"another-secret-0123456789"), prefix=redis_prefix
    )
    assert await other.get(scope, "item:2000105") is None
    await cache.forget(scope)
    assert [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")] == []


async def test_memory_keeps_shared_scopes_longer_than_personal_ones(clock) -> None:  # type: ignore[no-untyped-def]
    cache = MemoryReadCache(keep_for=3600, personal_keep_for=300, clock=clock)
    await cache.put(patron_scope("t", "ils", "p1"), "loans", entry(clock))
    await cache.put(tenant_scope("t", "ils"), "pickup_libraries", entry(clock))
    clock.advance(299)
    assert await cache.get(patron_scope("t", "ils", "p1"), "loans") is not None
    clock.advance(2)
    assert await cache.get(patron_scope("t", "ils", "p1"), "loans") is None
    assert await cache.get(tenant_scope("t", "ils"), "pickup_libraries") is not None
    await cache.put(patron_scope("t", "ils", "p2"), "loans", entry(clock))  # a write purges
    assert list(cache._personal.scopes) == [patron_scope("t", "ils", "p2")]


async def test_redis_keeps_shared_scopes_longer_than_personal_ones(  # type: ignore[no-untyped-def]
    redis_client, redis_prefix, clock
):
    cache = RedisReadCache(
        redis_client, sealed=SEALED, prefix=redis_prefix, personal_keep_for=300, clock=clock
    )
    await cache.put(patron_scope("t", "ils", "p1"), "loans", entry(clock))
    await cache.put(tenant_scope("t", "ils"), "pickup_libraries", entry(clock))
    ttls = sorted(
        [await redis_client.pttl(k) async for k in redis_client.scan_iter(f"{redis_prefix}*")]
    )
    assert 0 < ttls[0] <= 300_000 and ttls[1] > 3600_000


async def test_forget_drops_a_scope_at_once(make_cache, clock) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache = make_cache()
    scope, other = patron_scope("t", "ils", "p1"), patron_scope("t", "ils", "p2")
    await cache.put(scope, "loans", entry(clock))
    await cache.put(other, "loans", entry(clock))
    await cache.forget(scope)
    assert await cache.get(scope, "loans") is None
    assert await cache.get(other, "loans") is not None
