from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, table

from ils_gateway.store.errors import HistoryNotSetUp, InvalidValue, WrongHistoryPassword
from ils_gateway.store.records import HistoryRecordOutcome, ReadingHistoryEntry
from ils_gateway.store.store import Store


def loan(clock, n: int, title: str = "", item_id: str = "") -> ReadingHistoryEntry:
    return ReadingHistoryEntry(
        item_id=item_id or f"item-{n:04d}",
        title=title or f"タイトル{n}",
        loaned_at=clock() + timedelta(days=n),
        author="夏目漱石",
    )


async def test_nothing_recorded_before_set_up(store: Store, clock) -> None:
    p = store.patron("saitama", "1")
    assert await store.reading_history.record(p, loan(clock, 1)) == HistoryRecordOutcome.NO_KEY
    with pytest.raises(HistoryNotSetUp):
        await store.reading_history.unlock(p, "pw")


async def test_job_records_without_password_patron_reads_with_it(store: Store, clock) -> None:
    p = store.patron("saitama", "1")
    await store.reading_history.set_up(p, "secret pw")
    assert await store.reading_history.has_key(p)
    for n in range(3):
        assert await store.reading_history.record(p, loan(clock, n)) == "added"
    assert await store.reading_history.record(p, loan(clock, 1)) == "duplicate"
    # Same item borrowed again another day is a new entry.
    again = loan(clock, 9, item_id="item-0001", title="タイトル1")
    assert await store.reading_history.record(p, again) == "added"
    key = await store.reading_history.unlock(p, "secret pw")
    page = await store.reading_history.list(p, key)
    assert [e.entry for e in page.entries] == [
        again,
        loan(clock, 2),
        loan(clock, 1),
        loan(clock, 0),
    ]
    assert (page.unreadable_entries, page.total_entries) == (0, 4)
    second = await store.reading_history.list(p, key, limit=2, offset=2)
    assert [e.entry for e in second.entries] == [loan(clock, 1), loan(clock, 0)]
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.unlock(p, "wrong")
    with pytest.raises(InvalidValue):
        await store.reading_history.record(
            p, ReadingHistoryEntry("x", "t", clock().replace(tzinfo=None))
        )


async def test_set_up_twice_opens_the_same_key(store: Store) -> None:
    p = store.patron("saitama", "1")
    first = await store.reading_history.set_up(p, "pw")
    assert await store.reading_history.set_up(p, "pw") == first
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.set_up(p, "other")


async def test_password_change_keeps_entries_readable(store: Store, clock) -> None:
    p = store.patron("saitama", "1")
    await store.reading_history.set_up(p, "old")
    await store.reading_history.record(p, loan(clock, 1))
    await store.reading_history.change_password(p, "old", "new")
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.unlock(p, "old")
    key = await store.reading_history.unlock(p, "new")
    assert [e.entry for e in (await store.reading_history.list(p, key)).entries] == [loan(clock, 1)]
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.change_password(p, "old", "newer")


async def test_reset_by_library_makes_old_entries_unreadable_and_says_so(
    store: Store, clock
) -> None:
    p = store.patron("saitama", "1")
    old_key = await store.reading_history.set_up(p, "forgotten")
    for n in range(2):
        await store.reading_history.record(p, loan(clock, n))
    new_key = await store.reading_history.reset(p, "from the counter")
    assert new_key.generation == old_key.generation + 1
    await store.reading_history.record(p, loan(clock, 5))
    page = await store.reading_history.list(p, new_key)
    assert [e.entry for e in page.entries] == [loan(clock, 5)]
    assert (page.unreadable_entries, page.total_entries) == (2, 3)
    # A key from before the reset can no longer read or be re-wrapped.
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.list(p, old_key)
    with pytest.raises(WrongHistoryPassword):
        await store.reading_history.rewrap(p, old_key, "x")
    assert await store.reading_history.delete_all(p) == 3
    page = await store.reading_history.list(p, new_key)
    assert (page.entries, page.unreadable_entries) == ((), 0)


async def test_delete_one_and_forget(store: Store, clock) -> None:
    p = store.patron("saitama", "1")
    key = await store.reading_history.set_up(p, "pw")
    for n in range(3):
        await store.reading_history.record(p, loan(clock, n))
    entries = (await store.reading_history.list(p, key)).entries
    assert await store.reading_history.delete(p, entries[1].entry_id) is True
    assert await store.reading_history.delete(p, entries[1].entry_id) is False
    remaining = (await store.reading_history.list(p, key)).entries
    assert [e.entry_id for e in remaining] == [entries[0].entry_id, entries[2].entry_id]
    await store.reading_history.forget(p)
    assert not await store.reading_history.has_key(p)


async def test_no_upper_limit(store: Store, clock) -> None:
    p = store.patron("saitama", "1")
    key = await store.reading_history.set_up(p, "pw")
    for n in range(150):
        await store.reading_history.record(p, loan(clock, n))
    assert len((await store.reading_history.list(p, key)).entries) == 150


async def dump_every_row(store: Store) -> list[object]:
    """Every value of every row of every table in the database, as the operator would see it."""
    values: list[object] = []
    async with store.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "reading_history_entries" in names
        for name in names:
            columns = await conn.run_sync(
                lambda sync, name=name: [c["name"] for c in inspect(sync).get_columns(name)]
            )
            rows = await conn.execute(select(table(name, *map(_column, columns))))
            values.extend(v for row in rows for v in row)
    return values


def _column(name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import column

    return column(name)


async def test_database_holds_no_readable_title_or_item_id(store: Store, clock) -> None:
    p = store.patron("saitama", "0123456789")
    secrets = [("ISBN9784101010014", "人間失格"), ("ZX-SECRET-ITEM-77", "Secret Garden Diary")]
    await store.settings.set_reading_history(p, True)
    await store.reading_history.set_up(p, "pw")
    for n, (item_id, title) in enumerate(secrets):
        await store.reading_history.record(p, loan(clock, n, title=title, item_id=item_id))
    key = await store.reading_history.unlock(p, "pw")
    assert len((await store.reading_history.list(p, key)).entries) == 2  # really stored
    # Control: a bookshelf title is stored plain, so the dump must find it.
    shelf = await store.shelves.create(p, "s", max_shelves=1)
    await store.shelves.add_item(p, shelf.shelf_id, "CONTROL-ITEM", "坊っちゃん", max_items=1)

    values = await dump_every_row(store)
    assert "CONTROL-ITEM" in values and "坊っちゃん" in values
    needles = [s for pair in secrets for s in pair] + ["0123456789", "人間", "Garden"]
    for value in values:
        if isinstance(value, memoryview):
            value = bytes(value)
        for needle in needles:
            if isinstance(value, bytes):
                assert needle.encode() not in value
                assert needle.encode("utf-16-le") not in value
            else:
                assert needle.lower() not in str(value).lower()
