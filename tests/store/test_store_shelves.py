import pytest

from ils_gateway.store.errors import (
    InvalidValue,
    ItemAlreadyOnShelf,
    ShelfItemLimitExceeded,
    ShelfItemNotFound,
    ShelfLimitExceeded,
    ShelfNotFound,
)
from ils_gateway.store.store import Store


async def test_create_rename_comment_delete(store: Store) -> None:
    p = store.patron("nishinomiya", "5")
    shelf = await store.shelves.create(p, "読みたい本", "夏休みに", max_shelves=20)
    other = await store.shelves.create(p, "児童書", max_shelves=20)
    assert [s.name for s in await store.shelves.list(p)] == ["読みたい本", "児童書"]
    renamed = await store.shelves.update(p, shelf.shelf_id, name="読んだ本")
    assert (renamed.name, renamed.comment) == ("読んだ本", "夏休みに")
    recommented = await store.shelves.update(p, shelf.shelf_id, comment="")
    assert (recommented.name, recommented.comment) == ("読んだ本", "")
    await store.shelves.add_item(p, shelf.shelf_id, "b1", "檸檬", max_items=None)
    await store.shelves.delete(p, shelf.shelf_id)
    assert [s.shelf_id for s in await store.shelves.list(p)] == [other.shelf_id]
    with pytest.raises(ShelfNotFound):
        await store.shelves.items(p, shelf.shelf_id)
    with pytest.raises(ShelfNotFound):
        await store.shelves.delete(p, shelf.shelf_id)


async def test_shelf_limit(store: Store) -> None:
    p = store.patron("akiruno", "5")
    for n in range(5):
        await store.shelves.create(p, f"list {n}", max_shelves=5)
    with pytest.raises(ShelfLimitExceeded) as raised:
        await store.shelves.create(p, "one too many", max_shelves=5)
    assert raised.value.limit == 5
    await store.shelves.create(p, "Saitama has no item limit but 50 lists", max_shelves=None)


async def test_items_add_remove_unique_and_limit(store: Store) -> None:
    p = store.patron("kanagawa", "5")
    shelf = await store.shelves.create(p, "s", max_shelves=10)
    await store.shelves.add_item(p, shelf.shelf_id, "b1", "一", max_items=2)
    with pytest.raises(ItemAlreadyOnShelf):
        await store.shelves.add_item(p, shelf.shelf_id, "b1", "一", max_items=2)
    await store.shelves.add_item(p, shelf.shelf_id, "b2", "二", max_items=2)
    with pytest.raises(ShelfItemLimitExceeded) as raised:
        await store.shelves.add_item(p, shelf.shelf_id, "b3", "三", max_items=2)
    assert raised.value.limit == 2
    assert [i.item_id for i in await store.shelves.items(p, shelf.shelf_id)] == ["b1", "b2"]
    assert (await store.shelves.get(p, shelf.shelf_id)).item_count == 2
    await store.shelves.remove_item(p, shelf.shelf_id, "b1")
    with pytest.raises(ShelfItemNotFound):
        await store.shelves.remove_item(p, shelf.shelf_id, "b1")
    assert [i.item_id for i in await store.shelves.items(p, shelf.shelf_id)] == ["b2"]


async def test_copy_and_move_keep_rating_and_comment(store: Store) -> None:
    p = store.patron("ibaraki", "5")
    a = await store.shelves.create(p, "a", max_shelves=5)
    b = await store.shelves.create(p, "b", max_shelves=5)
    await store.shelves.add_item(p, a.shelf_id, "b1", "雪国", max_items=100)
    await store.shelves.annotate(p, a.shelf_id, "b1", rating=4, comment="再読したい")
    copied = await store.shelves.copy_item(
        p, "b1", from_shelf=a.shelf_id, to_shelf=b.shelf_id, max_items=100
    )
    assert (copied.rating, copied.comment) == (4, "再読したい")
    assert [i.item_id for i in await store.shelves.items(p, a.shelf_id)] == ["b1"]
    with pytest.raises(ItemAlreadyOnShelf):
        await store.shelves.move_item(
            p, "b1", from_shelf=a.shelf_id, to_shelf=b.shelf_id, max_items=100
        )
    await store.shelves.remove_item(p, b.shelf_id, "b1")
    moved = await store.shelves.move_item(
        p, "b1", from_shelf=a.shelf_id, to_shelf=b.shelf_id, max_items=100
    )
    assert await store.shelves.items(p, a.shelf_id) == []
    assert await store.shelves.items(p, b.shelf_id) == [moved]


async def test_move_into_full_shelf_changes_nothing(store: Store) -> None:
    p = store.patron("ibaraki", "5")
    a = await store.shelves.create(p, "a", max_shelves=5)
    b = await store.shelves.create(p, "b", max_shelves=5)
    await store.shelves.add_item(p, a.shelf_id, "x", "t", max_items=1)
    await store.shelves.add_item(p, b.shelf_id, "y", "t", max_items=1)
    with pytest.raises(ShelfItemLimitExceeded):
        await store.shelves.move_item(
            p, "x", from_shelf=a.shelf_id, to_shelf=b.shelf_id, max_items=1
        )
    assert [i.item_id for i in await store.shelves.items(p, a.shelf_id)] == ["x"]


async def test_rating_and_comment_validation(store: Store) -> None:
    p = store.patron("ibaraki", "5")
    s = await store.shelves.create(p, "a", max_shelves=5)
    await store.shelves.add_item(p, s.shelf_id, "x", "t", max_items=None)
    for bad in (0, 6, True):
        with pytest.raises(InvalidValue):
            await store.shelves.annotate(p, s.shelf_id, "x", rating=bad)
    full_width = "あ" * 100  # 300 bytes in UTF-8, 100 characters: allowed
    item = await store.shelves.annotate(p, s.shelf_id, "x", rating=5, comment=full_width)
    assert (item.rating, item.comment) == (5, full_width)
    with pytest.raises(InvalidValue) as raised:
        await store.shelves.annotate(p, s.shelf_id, "x", comment="あ" * 101)
    assert raised.value.field == "comment"
    cleared = await store.shelves.annotate(p, s.shelf_id, "x", rating=None, comment=None)
    assert (cleared.rating, cleared.comment) == (None, None)
    with pytest.raises(ShelfItemNotFound):
        await store.shelves.annotate(p, s.shelf_id, "nope", rating=3)
    with pytest.raises(InvalidValue):
        await store.shelves.create(p, "  ", max_shelves=5)
