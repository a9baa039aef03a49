from datetime import timedelta

from ils_gateway.store.records import CancelledHold, CancelReason
from ils_gateway.store.store import Store


async def test_record_is_idempotent_and_listed_newest_first(store: Store, clock) -> None:
    p = store.patron("nishinomiya", "7")
    old = CancelledHold("h1", "銀河鉄道の夜", CancelReason.EXPIRED, clock())
    new = CancelledHold("h2", "羅生門", CancelReason.CANCELLED, clock() + timedelta(days=1))
    assert await store.cancelled_holds.record(p, old) is True
    assert await store.cancelled_holds.record(p, new) is True
    assert await store.cancelled_holds.record(p, old) is False  # the job saw it twice
    assert await store.cancelled_holds.list(p) == [new, old]


async def test_delete_one(store: Store, clock) -> None:
    p = store.patron("nishinomiya", "7")
    await store.cancelled_holds.record(p, CancelledHold("h1", "t", CancelReason.CANCELLED, clock()))
    assert await store.cancelled_holds.delete(p, "h1") is True
    assert await store.cancelled_holds.delete(p, "h1") is False
    assert await store.cancelled_holds.list(p) == []


async def test_purge_older_than_touches_only_that_tenant(store: Store, clock) -> None:
    kanagawa, akiruno = store.patron("kanagawa", "1"), store.patron("akiruno", "1")
    start = clock()
    for day in range(5):
        at = start + timedelta(days=day)
        for p in (kanagawa, akiruno):
            await store.cancelled_holds.record(p, CancelledHold(f"h{day}", "t", "expired", at))
    cutoff = start + timedelta(days=3)
    assert await store.cancelled_holds.purge_older_than("kanagawa", cutoff) == 3
    assert [e.hold_id for e in await store.cancelled_holds.list(kanagawa)] == ["h4", "h3"]
    assert len(await store.cancelled_holds.list(akiruno)) == 5
