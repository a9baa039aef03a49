import asyncio
from datetime import timedelta

import pytest

from ils_gateway.store.errors import InvalidValue, RecordNotFound
from ils_gateway.store.store import Store

TTL = timedelta(hours=24)


async def test_first_claim_wins_and_replay_sees_the_stored_response(store: Store) -> None:
    p = store.patron("saitama", "1")
    first = await store.idempotency.claim(p, "key-1", "fp-a", ttl=TTL)
    assert first.won and not first.record.completed
    await store.idempotency.complete(p, "key-1", 201, b'{"hold":"h1"}')
    replay = await store.idempotency.claim(p, "key-1", "fp-a", ttl=TTL)
    assert not replay.won
    assert (replay.record.status, replay.record.body) == (201, b'{"hold":"h1"}')
    # Another body under the same key: the caller sees the first fingerprint and refuses.
    reused = await store.idempotency.claim(p, "key-1", "fp-b", ttl=TTL)
    assert not reused.won and reused.record.fingerprint == "fp-a"


async def test_expired_key_can_be_claimed_again_and_is_purged(store: Store, clock) -> None:
    p = store.patron("saitama", "1")
    await store.idempotency.claim(p, "k", "fp-a", ttl=TTL)
    await store.idempotency.claim(p, "other", "fp", ttl=timedelta(days=7))
    clock.advance(hours=25)
    assert await store.idempotency.get(p, "k") is None
    again = await store.idempotency.claim(p, "k", "fp-b", ttl=TTL)
    assert again.won and again.record.fingerprint == "fp-b"
    clock.advance(hours=25)
    assert await store.idempotency.purge_expired() == 1
    assert await store.idempotency.get(p, "other") is not None


async def test_release_lets_a_retry_run(store: Store) -> None:
    p = store.patron("saitama", "1")
    await store.idempotency.claim(p, "k", "fp", ttl=TTL)
    await store.idempotency.release(p, "k")
    assert (await store.idempotency.claim(p, "k", "fp", ttl=TTL)).won
    with pytest.raises(RecordNotFound):
        await store.idempotency.complete(p, "never-claimed", 200, b"")
    with pytest.raises(InvalidValue):
        await store.idempotency.claim(p, "", "fp", ttl=TTL)


async def test_concurrent_claims_from_two_processes_exactly_one_wins(
    store: Store, open_test_store
) -> None:
    p = store.patron("saitama", "1")
    async with open_test_store(migrate=False) as second:
        claims = await asyncio.gather(
            *(
                (store if n % 2 else second).idempotency.claim(p, "race", f"fp-{n}", ttl=TTL)
                for n in range(12)
            )
        )
    winners = [c for c in claims if c.won]
    assert len(winners) == 1
    assert {c.record.fingerprint for c in claims} == {winners[0].record.fingerprint}
