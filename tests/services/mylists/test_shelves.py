"""Bookshelves: tenant limits, copy/move, ratings and comments counted in characters, kiosk rule."""

from __future__ import annotations

from datetime import date

import pytest
from mylists_support import Clock, Library

from ils_gateway.domain.errors import BadRequest, Conflict, FeatureDisabled, NotFound
from ils_gateway.domain.models import Item, Loan
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import ListLimitReached
from ils_gateway.services.mylists.reading_history import ReadingHistoryService
from ils_gateway.services.mylists.shelves import ShelfService
from ils_gateway.store.store import Store


async def test_shelves_follow_the_tenant_limits(store: Store, ctx: PatronContext) -> None:
    shelves = ShelfService(store)
    first = await shelves.create(ctx, "シリーズもの", "続きを読む")
    second = await shelves.create(ctx, "絵本")
    with pytest.raises(ListLimitReached) as info:
        await shelves.create(ctx, "三つ目")
    assert info.value.extensions() == {"list": "shelves", "limit": 2}
    renamed = await shelves.update(ctx, second.shelf_id, name="えほん", comment="こども用")
    assert (renamed.name, renamed.comment) == ("えほん", "こども用")
    await shelves.delete(ctx, second.shelf_id)
    assert [s.name for s in await shelves.list(ctx)] == ["シリーズもの"]
    with pytest.raises(NotFound):
        await shelves.delete(ctx, second.shelf_id)
    with pytest.raises(BadRequest):
        await shelves.create(ctx, "   ")
    assert first.item_count == 0


async def test_items_copy_move_rate_and_comment(
    store: Store, ctx: PatronContext, library: Library
) -> None:
    shelves = ShelfService(store)
    a = await shelves.create(ctx, "A")
    b = await shelves.create(ctx, "B")
    await shelves.add_item(ctx, library.backend, a.shelf_id, "2000101", "三国志 1")
    await shelves.add_item(ctx, library.backend, a.shelf_id, "2000102", "三国志 2")
    with pytest.raises(ListLimitReached) as info:
        await shelves.add_item(ctx, library.backend, a.shelf_id, "2000103", "三国志 3")
    assert info.value.extensions() == {"list": "shelf_items", "limit": 2}
    with pytest.raises(Conflict):
        await shelves.copy_item(ctx, "2000101", from_shelf=a.shelf_id, to_shelf=a.shelf_id)

    # 100 full-width characters fit (300 bytes in UTF-8); 101 do not.
    full = "あ" * 100
    rated = await shelves.annotate(ctx, a.shelf_id, "2000101", rating=5, comment=full)
    assert (rated.rating, rated.comment) == (5, full)
    with pytest.raises(BadRequest):
        await shelves.annotate(ctx, a.shelf_id, "2000101", comment=full + "あ")
    with pytest.raises(BadRequest):
        await shelves.annotate(ctx, a.shelf_id, "2000101", rating=6)

    copied = await shelves.copy_item(ctx, "2000101", from_shelf=a.shelf_id, to_shelf=b.shelf_id)
    assert (copied.rating, copied.comment) == (5, full)
    await shelves.move_item(ctx, "2000102", from_shelf=a.shelf_id, to_shelf=b.shelf_id)
    assert [i.item_id for i in await shelves.items(ctx, a.shelf_id)] == ["2000101"]
    assert {i.item_id for i in await shelves.items(ctx, b.shelf_id)} == {"2000101", "2000102"}
    await shelves.remove_item(ctx, b.shelf_id, "2000101")
    with pytest.raises(NotFound):
        await shelves.remove_item(ctx, b.shelf_id, "2000101")


async def test_add_from_reading_history(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    history = ReadingHistoryService(store, clock)
    opened = await history.enable(ctx, library.backend, "pass1234")
    loan = Loan(
        id="1",
        item=Item(id="2000104", title="吾輩は猫である", author="夏目漱石"),
        loaned_on=clock().date(),
        due_date=date(2026, 1, 24),
    )
    assert await history.capture(ctx, [loan]) == 1
    (entry,) = (await history.list(ctx, opened.key)).entries
    shelves = ShelfService(store)
    shelf = await shelves.create(ctx, "読んだ本")
    assert opened.key is not None
    added = await shelves.add_from_history(ctx, opened.key, shelf.shelf_id, entry.entry_id)
    assert (added.item_id, added.title) == ("2000104", "吾輩は猫である")
    with pytest.raises(NotFound):
        await shelves.add_from_history(ctx, opened.key, shelf.shelf_id, "no-such-entry")


async def test_kiosk_sessions_are_refused_shelves(store: Store, kiosk_ctx: PatronContext) -> None:
    with pytest.raises(FeatureDisabled) as info:
        await ShelfService(store).list(kiosk_ctx)
    assert info.value.extensions() == {"feature": "bookshelves", "channel": "kiosk"}
