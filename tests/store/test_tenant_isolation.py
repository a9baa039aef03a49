"""Nothing crosses tenants or patrons: same card elsewhere, or a stolen id, sees nothing."""

from datetime import timedelta

import pytest

from ils_gateway.store.errors import SequenceNotFound, ShelfNotFound, WrongHistoryPassword
from ils_gateway.store.records import (
    CancelledHold,
    CancelReason,
    PatronRef,
    PatronSettings,
    ReadingHistoryEntry,
    SequenceMember,
)
from ils_gateway.store.store import Store


async def fill(store: Store, p: PatronRef, clock) -> dict[str, str]:
    await store.basket.add(p, "ils", "b1", "t", max_items=10)
    seq = await store.sequences.create(p, [SequenceMember("h1", "i1"), SequenceMember("h2", "i2")])
    await store.cancelled_holds.record(p, CancelledHold("h0", "t", CancelReason.CANCELLED, clock()))
    shelf = await store.shelves.create(p, "mine", max_shelves=5)
    await store.shelves.add_item(p, shelf.shelf_id, "i1", "t", max_items=5)
    await store.settings.save(p, PatronSettings(due_date_reminder=True))
    await store.idempotency.claim(p, "k", "fp", ttl=timedelta(hours=1))
    await store.reading_history.set_up(p, "pw")
    await store.reading_history.record(p, ReadingHistoryEntry("i1", "t", clock()))
    return {"sequence": seq.sequence_id, "shelf": shelf.shelf_id}


async def assert_sees_nothing(store: Store, q: PatronRef, ids: dict[str, str]) -> None:
    assert await store.basket.list(q) == []
    assert await store.sequences.list(q) == []
    assert await store.sequences.find_by_hold(q, "h1") is None
    assert await store.cancelled_holds.list(q) == []
    assert await store.shelves.list(q) == []
    assert await store.settings.get(q) == PatronSettings()
    assert await store.idempotency.get(q, "k") is None
    assert (await store.idempotency.claim(q, "k", "other", ttl=timedelta(hours=1))).won
    assert not await store.reading_history.has_key(q)
    # Knowing another patron's ids does not reach their rows.
    with pytest.raises(ShelfNotFound):
        await store.shelves.items(q, ids["shelf"])
    with pytest.raises(ShelfNotFound):
        await store.shelves.delete(q, ids["shelf"])
    with pytest.raises(ShelfNotFound):
        await store.shelves.add_item(q, ids["shelf"], "x", "t", max_items=None)
    with pytest.raises(SequenceNotFound):
        await store.sequences.get(q, ids["sequence"])
    with pytest.raises(SequenceNotFound):
        await store.sequences.dissolve(q, ids["sequence"])
    assert await store.cancelled_holds.delete(q, "h0") is False
    assert await store.basket.remove(q, "ils", "b1") is False


async def test_same_card_in_two_tenants_is_two_patrons(store: Store, clock) -> None:
    saitama, kanagawa = store.patron("saitama", "123456"), store.patron("kanagawa", "123456")
    assert saitama.patron_key != kanagawa.patron_key
    ids = await fill(store, saitama, clock)
    await assert_sees_nothing(store, kanagawa, ids)


async def test_same_patron_key_under_another_tenant_sees_nothing(store: Store, clock) -> None:
    p = store.patron("saitama", "123456")
    ids = await fill(store, p, clock)
    await assert_sees_nothing(store, PatronRef("kanagawa", p.patron_key), ids)
    assert await store.cancelled_holds.purge_older_than("kanagawa", clock() + timedelta(1)) == 0
    assert len(await store.basket.list(p)) == 1


async def test_history_key_of_one_patron_does_not_open_another(store: Store, clock) -> None:
    a, b = store.patron("saitama", "1"), store.patron("saitama", "2")
    key_a = await store.reading_history.set_up(a, "pw")
    await store.reading_history.set_up(b, "pw")
    await store.reading_history.record(b, ReadingHistoryEntry("i", "t", clock()))
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.list(b, key_a)
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.rewrap(b, key_a, "x")
