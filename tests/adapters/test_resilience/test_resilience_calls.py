"""Cache hits without decoding: the in-process cache hands back the answer it kept (frozen
models, a new list each time); the shared cache keeps JSON and decodes it on a hit."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter
from resilience_fakes import FakeClock, FakeLibrary, RecordingSleep, patron

from ils_gateway.adapters.resilience.backend import ResilientBackend
from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache, RedisReadCache
from ils_gateway.adapters.resilience.calls import GuardedCalls
from ils_gateway.domain.models import Loan
from sealed_state import SEALED


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def backend(ils: FakeLibrary, cache: ReadCache, clock: FakeClock) -> ResilientBackend:
    return ResilientBackend(ils, tenant_id="t", cache=cache, clock=clock, sleep=RecordingSleep())


async def test_memory_hits_hand_back_the_kept_loans(clock: FakeClock) -> None:
    ils = FakeLibrary()
    ils.lend("p1", "i1")
    ils.lend("p1", "i2")
    resilient = backend(ils, MemoryReadCache(clock=clock), clock)
    first = await resilient.list_loans(patron("p1"))
    second = await resilient.list_loans(patron("p1"))
    assert second == first and second is not first
    assert all(a is b for a, b in zip(first, second, strict=True))  # nothing re-validated
    second.pop()  # a caller's list is its own
    assert len(await resilient.list_loans(patron("p1"))) == 2
    assert ils.calls["list_loans"] == 1 and resilient.metrics["cache_hits"] == 2


async def test_shared_cache_hits_decode_the_payload(  # type: ignore[no-untyped-def]
    redis_client, redis_prefix: str, clock: FakeClock
) -> None:
    ils = FakeLibrary()
    ils.lend("p1", "i1")
    cache = RedisReadCache(redis_client, sealed=SEALED, prefix=redis_prefix, clock=clock)
    first = await backend(ils, cache, clock).list_loans(patron("p1"))
    other_process = backend(ils, cache, clock)
    again = await other_process.list_loans(patron("p1"))
    assert again == first and again[0] is not first[0]
    assert ils.calls["list_loans"] == 1


def test_an_entry_keeps_both_forms(clock: FakeClock) -> None:
    ils = FakeLibrary()
    ils.lend("p1", "i1")
    loans = list(ils.loans["p1"].values())
    adapter = TypeAdapter(list[Loan])
    entry = GuardedCalls.entry(loans, adapter, clock.now, 60)
    assert adapter.validate_json(entry.payload) == loans
    assert entry.value == tuple(loans) and entry.fresh(clock.now + 59)
    assert GuardedCalls.decoded(entry, adapter) == loans


async def test_a_cold_memory_entry_is_decoded_once_then_kept(clock: FakeClock) -> None:
    # Issue 17 (memory): past max_decoded a patron's list is kept as JSON only; the next hit
    # decodes it (no backend call) and keeps the decoded list for the hits after it.
    ils = FakeLibrary()
    ils.lend("p1", "i1")
    ils.lend("p2", "i2")
    resilient = backend(ils, MemoryReadCache(max_decoded=1, clock=clock), clock)
    first = await resilient.list_loans(patron("p1"))
    await resilient.list_loans(patron("p2"))  # p1's list turns cold
    decoded = await resilient.list_loans(patron("p1"))
    assert decoded == first and decoded[0] is not first[0]
    again = await resilient.list_loans(patron("p1"))
    assert again[0] is decoded[0]  # kept decoded by the hit
    assert ils.calls["list_loans"] == 2 and resilient.metrics["cache_hits"] == 2
