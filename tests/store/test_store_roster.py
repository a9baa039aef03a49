"""The shared job roster (sealed patron records) and job leases, on both databases."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from ils_gateway.store.engine import open_store
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.store.schema import job_roster
from ils_gateway.store.store import Store

CARD = "2000123456789"
RECORD = {"id": "p-77", "card_number": CARD, "name": "山田 花子"}


async def test_a_second_process_sees_the_roster_and_withdrawal(store: Store, open_test_store):
    owner = store.patron("akiruno", CARD)
    await store.roster.enrol(owner, RECORD)
    await store.roster.enrol(owner, {**RECORD, "name": "山田 花子 (新)"})
    async with open_test_store() as second:
        assert await second.roster.records("akiruno") == [{**RECORD, "name": "山田 花子 (新)"}]
        assert await second.roster.records("other") == []
        assert await second.roster.withdraw(second.patron("akiruno", CARD))
    assert await store.roster.records("akiruno") == []
    assert not await store.roster.is_enrolled(owner)
    assert not await store.roster.withdraw(owner)


async def test_the_roster_row_reveals_no_card_or_name(store: Store):
    await store.roster.enrol(store.patron("akiruno", CARD), RECORD)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(job_roster))).all()
    dump = repr([tuple(r) for r in rows]).encode()
    assert len(rows) == 1
    for secret in (CARD, "p-77", "山田"):
        assert secret.encode() not in dump
        assert secret.encode("utf-8") not in b"".join(r.sealed for r in rows)


async def test_records_sealed_under_another_secret_are_skipped(store: Store, store_url, clock):
    await store.roster.enrol(store.patron("akiruno", CARD), RECORD)
    other = b"another-server-secret-0123456789"
    async with open_store(store_url, secret=other, kdf=KdfParams.minimal(), clock=clock) as s:
        assert await s.roster.records("akiruno") == []


async def test_one_lease_holder_at_a_time_until_it_expires(store: Store, open_test_store, clock):
    ttl = timedelta(minutes=5)
    assert await store.leases.acquire("capture", "proc-a", ttl)
    async with open_test_store() as second:
        assert not await second.leases.acquire("capture", "proc-b", ttl)
        assert await second.leases.acquire("purge", "proc-b", ttl)
        assert await store.leases.acquire("capture", "proc-a", ttl)  # renewal by the holder
        clock.advance(minutes=5)
        assert await second.leases.acquire("capture", "proc-b", ttl)
        assert not await store.leases.acquire("capture", "proc-a", ttl)
        await store.leases.release("capture", "proc-a")  # not the holder: no effect
        assert not await store.leases.acquire("capture", "proc-a", ttl)
        await second.leases.release("capture", "proc-b")
    assert await store.leases.acquire("capture", "proc-a", ttl)


@pytest.mark.parametrize("holders", [8])
async def test_concurrent_acquires_have_one_winner(store: Store, open_test_store, holders):
    import asyncio

    async with open_test_store() as second:
        stores = [store, second]
        results = await asyncio.gather(
            *(
                stores[i % 2].leases.acquire("enforce", f"proc-{i}", timedelta(minutes=1))
                for i in range(holders)
            )
        )
    assert sum(results) == 1
