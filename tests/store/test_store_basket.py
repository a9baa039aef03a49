from ils_gateway.store.records import BasketAddOutcome
from ils_gateway.store.store import Store


async def test_add_list_remove_in_order(store: Store, clock) -> None:
    p = store.patron("ibaraki", "0001")
    assert (await store.basket.add(p, "ils", "b1", "坊っちゃん", max_items=100)).count == 1
    clock.advance(minutes=1)
    await store.basket.add(p, "elib", "e1", "こころ", max_items=100)
    items = await store.basket.list(p)
    assert [(i.source, i.item_id, i.title) for i in items] == [
        ("ils", "b1", "坊っちゃん"),
        ("elib", "e1", "こころ"),
    ]
    assert items[0].added_at < items[1].added_at
    assert await store.basket.remove(p, "ils", "b1") is True
    assert await store.basket.remove(p, "ils", "b1") is False
    assert [i.item_id for i in await store.basket.list(p)] == ["e1"]


async def test_no_duplicates_and_same_id_from_another_source_is_distinct(store: Store) -> None:
    p = store.patron("ibaraki", "0001")
    assert (await store.basket.add(p, "ils", "x", "t", max_items=5)).outcome == "added"
    again = await store.basket.add(p, "ils", "x", "t", max_items=5)
    assert again.outcome == BasketAddOutcome.ALREADY_PRESENT and again.count == 1
    assert (await store.basket.add(p, "elib", "x", "t", max_items=5)).outcome == "added"


async def test_full_basket_is_a_clear_result(store: Store) -> None:
    p = store.patron("ibaraki", "0001")
    for n in range(3):
        await store.basket.add(p, "ils", f"i{n}", "t", max_items=3)
    full = await store.basket.add(p, "ils", "i9", "t", max_items=3)
    assert (full.outcome, full.count, full.limit) == (BasketAddOutcome.FULL, 3, 3)
    # An item already there is reported as present, not as "full".
    assert (await store.basket.add(p, "ils", "i0", "t", max_items=3)).outcome == "already_present"
    assert len(await store.basket.list(p)) == 3


async def test_remove_many_after_checkout_and_clear(store: Store) -> None:
    p = store.patron("ibaraki", "0001")
    for n in range(4):
        await store.basket.add(p, "ils", f"i{n}", "t", max_items=10)
    assert await store.basket.remove_many(p, [("ils", "i0"), ("ils", "i2"), ("ils", "zz")]) == 2
    assert [i.item_id for i in await store.basket.list(p)] == ["i1", "i3"]
    assert await store.basket.remove_many(p, []) == 0
    assert await store.basket.clear(p) == 2
    assert await store.basket.list(p) == []
