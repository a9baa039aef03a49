"""Failed logins counted per key with locks, in memory and on the real Redis, injected clock."""

from __future__ import annotations

import pytest

from ils_gateway.state.loginguard import (
    LoginGuard,
    LoginLimit,
    MemoryLoginGuard,
    RedisLoginGuard,
)

LIMIT = LoginLimit(failures=3, window=900, lock=600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
def guard(request: pytest.FixtureRequest, clock: Clock) -> LoginGuard:
    if request.param == "memory":
        return MemoryLoginGuard(clock=clock)
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return RedisLoginGuard(client, prefix=prefix, clock=clock)


async def test_the_failure_that_reaches_the_limit_locks_the_key(guard: LoginGuard, clock) -> None:  # type: ignore[no-untyped-def]
    assert [await guard.failed("t:card:1", LIMIT) for _ in range(2)] == [0, 0]
    assert await guard.locked(["t:card:1"]) == 0
    assert await guard.failed("t:card:1", LIMIT) == 600
    clock.now += 100
    assert await guard.locked(["t:addr:x", "t:card:1"]) == 500
    assert await guard.locked(["t:card:2"]) == 0
    clock.now += 500
    assert await guard.locked(["t:card:1"]) == 0
    # The lock started a fresh count.
    assert await guard.failed("t:card:1", LIMIT) == 0


async def test_failures_older_than_the_window_do_not_count(guard: LoginGuard, clock) -> None:  # type: ignore[no-untyped-def]
    await guard.failed("k", LIMIT)
    clock.now += 600
    await guard.failed("k", LIMIT)
    clock.now += 301  # the first failure is now 901 s old
    assert await guard.failed("k", LIMIT) == 0
    assert await guard.failed("k", LIMIT) == 600


async def test_success_forgets_the_failures(guard: LoginGuard) -> None:
    await guard.failed("k", LIMIT)
    await guard.failed("k", LIMIT)
    await guard.succeeded("k")
    assert await guard.failed("k", LIMIT) == 0
    assert await guard.failed("k", LIMIT) == 0
    assert await guard.locked(["k"]) == 0


async def test_two_processes_share_one_redis_count(redis_client, redis_prefix, clock) -> None:  # type: ignore[no-untyped-def]
    first = RedisLoginGuard(redis_client, prefix=redis_prefix, clock=clock)
    second = RedisLoginGuard(redis_client, prefix=redis_prefix, clock=clock)
    await first.failed("k", LIMIT)
    await second.failed("k", LIMIT)
    assert await first.failed("k", LIMIT) == 600
    assert await second.locked(["k"]) == 600


async def test_no_card_number_in_redis_keys(redis_client, redis_prefix, clock) -> None:  # type: ignore[no-untyped-def]
    guard = RedisLoginGuard(redis_client, prefix=redis_prefix, clock=clock)
    for _ in range(3):
        await guard.failed("tokyo-a:card:20001234567", LIMIT)
    keys = [k.decode() for k in await redis_client.keys(f"{redis_prefix}*")]
    assert keys and not any("20001234567" in k for k in keys)


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError):
        LoginLimit(failures=0, window=900, lock=900)


DELAYED = LoginLimit(failures=10, window=900, lock=600, free=3, delay=1, max_delay=5)


async def test_failures_after_the_free_ones_hold_the_key_back_longer_each_time(  # type: ignore[no-untyped-def]
    guard: LoginGuard, clock
) -> None:
    waits = []
    for _ in range(9):
        assert await guard.failed("t:card:1", DELAYED) == 0
        waits.append(await guard.delayed(["t:addr:x", "t:card:1"]))
        clock.now += waits[-1]  # the attempt that may come next
    # none for the first 3, then 1, 2, 4 s, then capped at 5
    assert waits == [0, 0, 0, 1, 2, 4, 5, 5, 5]
    assert await guard.locked(["t:card:1"]) == 0
    assert await guard.delayed(["t:card:2"]) == 0
    assert await guard.failed("t:card:1", DELAYED) == 600  # the 10th locks, as before
    assert await guard.delayed(["t:card:1"]) == 0 and await guard.locked(["t:card:1"]) == 600


async def test_a_delay_ends_on_the_injected_clock(guard: LoginGuard, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        await guard.failed("k", DELAYED)
    assert await guard.delayed(["k"]) == 2
    clock.now += 1.5
    assert await guard.delayed(["k"]) == 1
    clock.now += 0.5
    assert await guard.delayed(["k"]) == 0


async def test_success_forgets_the_delay(guard: LoginGuard) -> None:
    for _ in range(4):
        await guard.failed("k", DELAYED)
    assert await guard.delayed(["k"]) == 1
    await guard.succeeded("k")
    assert await guard.delayed(["k"]) == 0
    assert await guard.failed("k", DELAYED) == 0
    assert await guard.delayed(["k"]) == 0, "the count started afresh"


async def test_a_delay_is_shared_between_processes_through_redis(  # type: ignore[no-untyped-def]
    redis_client, redis_prefix, clock
) -> None:
    first = RedisLoginGuard(redis_client, prefix=redis_prefix, clock=clock)
    second = RedisLoginGuard(redis_client, prefix=redis_prefix, clock=clock)
    for _ in range(4):
        await first.failed("k", DELAYED)
    assert await second.delayed(["k"]) == 1


def test_the_delay_schedule() -> None:
    assert [DELAYED.delay_after(n) for n in range(1, 9)] == [0, 0, 0, 1, 2, 4, 5, 5]
    assert LIMIT.delay_after(100) == 0, "no delays unless asked for"
    assert DELAYED.delay_after(10_000) == 5
    with pytest.raises(ValueError):
        LoginLimit(failures=3, window=900, lock=900, delay=-1)


async def test_one_check_of_a_key_at_a_time(guard: LoginGuard) -> None:
    assert await guard.claim("t:card:1", 60)
    assert not await guard.claim("t:card:1", 60), "a parallel check must wait"
    assert await guard.claim("t:card:2", 60), "another card is not held up"
    await guard.release("t:card:1")
    assert await guard.claim("t:card:1", 60)


async def test_a_lost_release_ends_with_the_claim(clock) -> None:  # type: ignore[no-untyped-def]
    guard = MemoryLoginGuard(clock=clock)
    assert await guard.claim("k", 60)
    clock.now += 61
    assert await guard.claim("k", 60)
