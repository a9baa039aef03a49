"""Fixed-window rate limits, in memory and on the real Redis, with an injected clock."""

from __future__ import annotations

import pytest

from ils_gateway.state.ratelimit import (
    MemoryRateLimiter,
    RateDecision,
    RateLimit,
    RateLimiter,
    RedisRateLimiter,
)
from sealed_state import SEALED


class Clock:
    def __init__(self) -> None:
        self.now = 300 * 5_666_667 + 100.0  # 100 s into a 300 s window

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest, clock: Clock):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        return lambda name, limit: MemoryRateLimiter(name, limit, clock=clock)
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda name, limit: RedisRateLimiter(
        client, name, limit, sealed=SEALED, prefix=prefix, clock=clock
    )


async def test_allows_up_to_the_limit_then_says_when(make_limiter, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    limiter: RateLimiter = make_limiter("login", RateLimit(limit=3, window=300))
    decisions = [await limiter.hit("tokyo-a:20001234567") for _ in range(4)]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert all(d.allowed for d in decisions[:3])
    assert decisions[3] == RateDecision(allowed=False, remaining=0, retry_after=200)
    assert (await limiter.hit("tokyo-a:20009999999")).allowed  # other keys are counted apart


async def test_a_new_window_starts_afresh(make_limiter, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    limiter: RateLimiter = make_limiter("login", RateLimit(limit=1, window=300))
    assert (await limiter.hit("k")).allowed
    clock.now += 199.5
    refused = await limiter.hit("k")
    assert not refused.allowed and refused.retry_after == 1
    clock.now += 0.5
    assert (await limiter.hit("k")).allowed


async def test_reset_forgets_the_keys_hits(make_limiter) -> None:  # type: ignore[no-untyped-def]
    limiter: RateLimiter = make_limiter("login", RateLimit(limit=1, window=60))
    await limiter.hit("k")
    assert not (await limiter.hit("k")).allowed
    await limiter.reset("k")
    assert (await limiter.hit("k")).allowed


async def test_limiters_with_other_names_do_not_share_counts(make_limiter) -> None:  # type: ignore[no-untyped-def]
    login = make_limiter("login", RateLimit(limit=1, window=60))
    bridge = make_limiter("elibrary-auth", RateLimit(limit=1, window=60))
    await login.hit("k")
    assert (await bridge.hit("k")).allowed


async def test_two_processes_share_one_redis_count(redis_client, redis_prefix, clock) -> None:  # type: ignore[no-untyped-def]
    one, two = (
        RedisRateLimiter(
            redis_client, "login", RateLimit(2, 60), sealed=SEALED, prefix=redis_prefix, clock=clock
        )
        for _ in range(2)
    )
    await one.hit("tokyo-a:20001234567")
    await two.hit("tokyo-a:20001234567")
    assert not (await one.hit("tokyo-a:20001234567")).allowed
    keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 1 and b"20001234567" not in keys[0]
    assert 0 < await redis_client.pttl(keys[0]) <= 61_000


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError):
        RateLimit(limit=0, window=60)


async def test_redis_counters_are_named_by_a_keyed_hash(redis_client, redis_prefix, clock) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    from ils_gateway.sealing import SealedState

    limit = RateLimit(1, 300)
    ours = RedisRateLimiter(
        redis_client, "card", limit, sealed=SEALED, prefix=redis_prefix, clock=clock
    )
    await ours.hit("tokyo-a:20001234567")
    (name,) = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    plain = hashlib.sha256(b"card\x00tokyo-a:20001234567").hexdigest()[:40]
    assert "20001234567" not in name and plain not in name
    # Another deployment's secret counts under other names.
    theirs = RedisRateLimiter(
        redis_client,
        "card",
        limit,
        sealed=SealedState(b"another-secret-0123456789"),
        prefix=redis_prefix,
        clock=clock,
    )
    assert (await theirs.hit("tokyo-a:20001234567")).allowed
