"""Idempotency keys, in memory and on the real Redis: replay, conflict, scoping, release,
expiry, and concurrent duplicates that wait for the first answer instead of running twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ils_gateway.domain.errors import Conflict
from ils_gateway.state.idempotency import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
    StoredResponse,
    Ticket,
    request_fingerprint,
)
from sealed_state import SEALED

FP = request_fingerprint("POST", "/v1/holds", b'{"item_id": "i1"}')
OTHER_FP = request_fingerprint("POST", "/v1/holds", b'{"item_id": "i2"}')
ANSWER = StoredResponse(
    201, {"Location": "/v1/holds/h1"}, '{"id": "h1", "状態": "予約中"}'.encode()
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class GatedSleep:
    """A sleep for the Redis poller: says it is waiting, then waits until the test opens it."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.gate = asyncio.Event()
        self.calls = 0

    async def __call__(self, seconds: float) -> None:
        self.calls += 1
        self.waiting.set()
        await self.gate.wait()


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> Callable[..., IdempotencyStore]:
    if request.param == "memory":
        return lambda **kw: MemoryIdempotencyStore(**{k: v for k, v in kw.items() if k != "sleep"})
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda **kw: RedisIdempotencyStore(
        client, sealed=SEALED, prefix=prefix, **{k: v for k, v in kw.items() if k != "clock"}
    )


def test_fingerprint_covers_method_path_and_body() -> None:
    assert FP == request_fingerprint("post", "/v1/holds", b'{"item_id": "i1"}')
    assert len({FP, OTHER_FP, request_fingerprint("PUT", "/v1/holds", b'{"item_id": "i1"}')}) == 3
    assert FP != request_fingerprint("POST", "/v1/holds/x", b'{"item_id": "i1"}')


async def test_a_repeat_gets_the_first_answer(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    ticket = await store.begin("tokyo-a", "p1", "k1", FP)
    assert isinstance(ticket, Ticket)
    assert await store.complete(ticket, ANSWER)
    replay = await store.begin("tokyo-a", "p1", "k1", FP)
    assert replay == StoredResponse(ANSWER.status, dict(ANSWER.headers), ANSWER.body)


async def test_same_key_other_request_is_a_conflict(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    ticket = await store.begin("tokyo-a", "p1", "k1", FP)
    with pytest.raises(Conflict):
        await store.begin("tokyo-a", "p1", "k1", OTHER_FP)  # while the first runs
    await store.complete(ticket, ANSWER)
    with pytest.raises(Conflict):
        await store.begin("tokyo-a", "p1", "k1", OTHER_FP)  # and after


async def test_keys_are_scoped_to_tenant_and_patron(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    await store.begin("tokyo-a", "p1", "k1", FP)
    assert isinstance(await store.begin("tokyo-a", "p2", "k1", OTHER_FP), Ticket)
    assert isinstance(await store.begin("osaka-b", "p1", "k1", OTHER_FP), Ticket)


async def test_released_key_may_run_again(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    first = await store.begin("tokyo-a", "p1", "k1", FP)
    assert isinstance(first, Ticket)
    await store.release(first)
    second = await store.begin("tokyo-a", "p1", "k1", FP)
    assert isinstance(second, Ticket) and second.owner != first.owner
    assert not await store.complete(first, ANSWER)  # the old claim cannot finish it
    assert await store.complete(second, ANSWER)


async def test_concurrent_duplicate_waits_for_the_first_answer(make_store) -> None:  # type: ignore[no-untyped-def]
    sleep = GatedSleep()
    store = make_store(sleep=sleep)
    first = await store.begin("tokyo-a", "p1", "k1", FP)
    assert isinstance(first, Ticket)
    duplicate = asyncio.create_task(store.begin("tokyo-a", "p1", "k1", FP))
    if isinstance(store, RedisIdempotencyStore):
        await sleep.waiting.wait()
    else:
        for _ in range(3):
            await asyncio.sleep(0)  # let the duplicate reach its wait (loop steps, no clock)
    assert not duplicate.done()
    await store.complete(first, ANSWER)
    sleep.gate.set()
    assert await duplicate == StoredResponse(ANSWER.status, dict(ANSWER.headers), ANSWER.body)


async def test_duplicate_of_a_released_request_runs_it_itself(make_store) -> None:  # type: ignore[no-untyped-def]
    sleep = GatedSleep()
    store = make_store(sleep=sleep)
    first = await store.begin("tokyo-a", "p1", "k1", FP)
    duplicate = asyncio.create_task(store.begin("tokyo-a", "p1", "k1", FP))
    if isinstance(store, RedisIdempotencyStore):
        await sleep.waiting.wait()
    else:
        for _ in range(3):
            await asyncio.sleep(0)
    await store.release(first)
    sleep.gate.set()
    assert isinstance(await duplicate, Ticket)


async def test_memory_duplicate_gives_up_after_wait() -> None:
    store = MemoryIdempotencyStore(wait=0.01)
    await store.begin("tokyo-a", "p1", "k1", FP)
    with pytest.raises(Conflict, match="still being processed"):
        await store.begin("tokyo-a", "p1", "k1", FP)


async def test_redis_duplicate_gives_up_after_its_polls(redis_client, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    store = RedisIdempotencyStore(
        redis_client, sealed=SEALED, prefix=redis_prefix, wait=0.2, poll_interval=0.05, sleep=sleep
    )
    await store.begin("tokyo-a", "p1", "k1", FP)
    with pytest.raises(Conflict, match="still being processed"):
        await store.begin("tokyo-a", "p1", "k1", FP)
    assert waits == [0.05] * 4


async def test_memory_keys_expire() -> None:
    clock = Clock()
    store = MemoryIdempotencyStore(ttl=3600, pending_ttl=60, clock=clock)
    pending = await store.begin("tokyo-a", "p1", "k1", FP)
    clock.now += 61  # the claimant crashed: its claim lapses
    done = await store.begin("tokyo-a", "p1", "k1", FP)
    assert isinstance(done, Ticket) and not await store.complete(pending, ANSWER)
    await store.complete(done, ANSWER)
    clock.now += 3599
    assert isinstance(await store.begin("tokyo-a", "p1", "k1", FP), StoredResponse)
    clock.now += 1
    assert isinstance(await store.begin("tokyo-a", "p1", "k1", FP), Ticket)


async def test_redis_keys_expire_and_are_opaque(redis_client, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    store = RedisIdempotencyStore(
        redis_client, sealed=SEALED, prefix=redis_prefix, ttl=3600, pending_ttl=60
    )
    ticket = await store.begin("tokyo-a", "20001234567", "k1", FP)
    [name] = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert b"20001234567" not in name and b"k1" not in name
    assert 0 < await redis_client.pttl(name) <= 60_000
    await store.complete(ticket, ANSWER)
    assert 60_000 < await redis_client.pttl(name) <= 3_600_000


# --- provisional answers: kept with the unknown writes until a retry settles them -----------

UNKNOWN = StoredResponse(504, {}, b'{"type": "outcome-unknown"}')
WRITES = b'[{"op": "renew", "target": "i1", "baseline": {"known": true}}]'


async def test_a_provisional_answer_is_not_replayed_but_handed_to_the_retry(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    first = await store.begin("t", "p", "k", FP)
    assert isinstance(first, Ticket) and first.unsettled is None
    assert await store.complete(first, UNKNOWN, unsettled=WRITES)
    retry = await store.begin("t", "p", "k", FP)
    assert isinstance(retry, Ticket), "the retry runs to learn the outcome"
    assert retry.unsettled == WRITES
    # while it settles, the key is claimed as usual: another repeat waits, it does not run
    ok = StoredResponse(200, {}, b'{"outcome": "ok"}')
    assert await store.complete(retry, ok)
    assert await store.begin("t", "p", "k", FP) == ok, "the learned outcome is final"


async def test_a_failed_settling_attempt_keeps_the_unknown_writes(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    first = await store.begin("t", "p", "k", FP)
    assert isinstance(first, Ticket)
    await store.complete(first, UNKNOWN, unsettled=WRITES)
    retry = await store.begin("t", "p", "k", FP)
    assert isinstance(retry, Ticket)
    await store.release(retry)  # e.g. the retry was cut off
    again = await store.begin("t", "p", "k", FP)
    assert isinstance(again, Ticket) and again.unsettled == WRITES


async def test_a_settling_retry_still_unknown_stays_provisional(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    first = await store.begin("t", "p", "k", FP)
    assert isinstance(first, Ticket)
    await store.complete(first, UNKNOWN, unsettled=WRITES)
    retry = await store.begin("t", "p", "k", FP)
    assert isinstance(retry, Ticket)
    await store.complete(retry, UNKNOWN, unsettled=WRITES)
    again = await store.begin("t", "p", "k", FP)
    assert isinstance(again, Ticket) and again.unsettled == WRITES
    with pytest.raises(Conflict):
        await store.begin("t", "p", "k", OTHER_FP)


async def test_redis_names_keys_by_keyed_hash_and_seals_answers(redis_client, redis_prefix) -> None:  # type: ignore[no-untyped-def]
    store = RedisIdempotencyStore(redis_client, sealed=SEALED, prefix=redis_prefix)
    ticket = await store.begin("tokyo-a", "20001234567", "renew-1", FP, session="s1")
    assert isinstance(ticket, Ticket)
    await store.complete(ticket, ANSWER, unsettled=b'{"loans": ["\xe3\x81\x90\xe3\x82\x8a"]}')
    names = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(names) == 2  # the record and its session's index
    stored = b"".join(names)
    for name in names:
        if b"idem-session" in name:
            stored += b"".join(await redis_client.smembers(name))
        else:
            stored += await redis_client.get(name)
    # (long enough that sealed bytes, in base64, cannot contain one by chance)
    for clear in (
        b"20001234567",
        b"tokyo-a",
        b"renew-1",
        FP.encode(),
        b"/v1/holds/h1",
        b"Location",
    ):
        assert clear not in stored
    again = await store.begin("tokyo-a", "20001234567", "renew-1", FP)
    assert isinstance(again, Ticket) and again.unsettled and again.provisional == ANSWER


async def test_logout_forgets_the_keys_begun_in_that_session(make_store) -> None:  # type: ignore[no-untyped-def]
    store: IdempotencyStore = make_store()
    mine = await store.begin("tokyo-a", "p1", "k1", FP, session="phone")
    other = await store.begin("tokyo-a", "p1", "k2", FP, session="web")
    assert isinstance(mine, Ticket) and isinstance(other, Ticket)
    await store.complete(mine, ANSWER)
    await store.complete(other, ANSWER)
    await store.forget_session("phone")
    assert isinstance(await store.begin("tokyo-a", "p1", "k1", FP), Ticket)  # forgotten
    assert await store.begin("tokyo-a", "p1", "k2", FP) == ANSWER  # another session's: kept
