"""Reading history: off by default, recorded from switch-on, private, honest after a reset."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta

import pytest
from mylists_support import PASSWORD, Clock, Library
from sqlalchemy import select

from ils_gateway.domain.errors import AuthenticationFailed, FeatureDisabled
from ils_gateway.domain.models import Item, Loan
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import HistoryLocked
from ils_gateway.services.mylists.reading_history import ReadingHistoryService
from ils_gateway.store.schema import metadata
from ils_gateway.store.store import Store


def loan(item_id: str, title: str, day: date) -> Loan:
    return Loan(id=item_id, item=Item(id=item_id, title=title), loaned_on=day, due_date=day)


async def test_off_by_default_and_records_from_switch_on_only(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    history = ReadingHistoryService(store, clock)
    today = clock().date()
    assert not (await history.status(ctx)).reading_history_enabled
    assert await history.capture(ctx, [loan("A1", "坊っちゃん", today)]) == 0

    with pytest.raises(AuthenticationFailed):
        await history.enable(ctx, library.backend, "wrong")
    opened = await history.enable(ctx, library.backend, PASSWORD)
    assert opened.key is not None and not opened.reset
    earlier = loan("A0", "それから", today - timedelta(days=1))
    assert await history.capture(ctx, [earlier, loan("A1", "坊っちゃん", today)]) == 1
    assert await history.capture(ctx, [loan("A1", "坊っちゃん", today)]) == 0  # kept once

    await history.disable(ctx)
    assert await history.capture(ctx, [loan("A2", "こころ", today)]) == 0
    page = await history.list(ctx, opened.key)
    assert [e.entry.title for e in page.entries] == ["坊っちゃん"]  # kept when switched off

    # Switching on again records from that new moment; the same key opens everything.
    clock.advance(days=3)
    again = await history.enable(ctx, library.backend, PASSWORD)
    assert await history.capture(ctx, [loan("A3", "門", clock().date())]) == 1
    page = await history.list(ctx, again.key)
    assert [e.entry.title for e in page.entries] == ["門", "坊っちゃん"]
    assert page.unreadable_entries == 0

    await history.delete(ctx, page.entries[0].entry_id)
    assert [e.entry.title for e in (await history.list(ctx, again.key)).entries] == ["坊っちゃん"]
    assert await history.delete_all(ctx) == 1
    assert (await history.list(ctx, again.key)).total_entries == 0


async def test_locked_without_the_sessions_key_and_kiosk_refused(
    store: Store, ctx: PatronContext, kiosk_ctx: PatronContext, library: Library, clock: Clock
) -> None:
    history = ReadingHistoryService(store, clock)
    assert (await history.list(ctx, None)).total_entries == 0  # never switched on: empty
    await history.enable(ctx, library.backend, PASSWORD)
    with pytest.raises(HistoryLocked):
        await history.list(ctx, None)
    opened = await history.unlock(ctx, library.backend, PASSWORD)
    assert (await history.list(ctx, opened.key)).total_entries == 0
    with pytest.raises(FeatureDisabled):
        await history.list(kiosk_ctx, opened.key)
    # A kiosk checkout is still recorded: the restriction is about showing it.
    assert await history.capture(kiosk_ctx, [loan("K1", "雪国", clock().date())]) == 1


async def test_password_change_keeps_and_library_reset_loses_old_entries(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    history = ReadingHistoryService(store, clock)
    opened = await history.enable(ctx, library.backend, PASSWORD)
    await history.capture(ctx, [loan("B1", "銀河鉄道の夜", clock().date())])

    key = await history.password_changed(
        ctx, old_password=PASSWORD, new_password="newpass1", key=opened.key
    )
    assert key is not None
    reopened = await history.open_at_login(ctx, "newpass1")
    assert not reopened.reset
    assert [e.entry.title for e in (await history.list(ctx, reopened.key)).entries] == [
        "銀河鉄道の夜"
    ]
    # Without the session's key, the old password re-wraps it too.
    await history.password_changed(ctx, old_password="newpass1", new_password="newpass2")
    assert not (await history.open_at_login(ctx, "newpass2")).reset

    # The library resets the password at the counter: the gateway cannot re-wrap the key.
    after_reset = await history.open_at_login(ctx, "counter99")
    assert after_reset.reset
    await history.capture(ctx, [loan("B2", "風の又三郎", clock().date())])
    page = await history.list(ctx, after_reset.key)
    assert [e.entry.title for e in page.entries] == ["風の又三郎"]
    assert (page.unreadable_entries, page.total_entries) == (1, 2)


async def test_second_process_sees_it_and_the_dump_reveals_nothing(
    store: Store,
    ctx: PatronContext,
    library: Library,
    clock: Clock,
    open_test_store: Callable[[], AbstractAsyncContextManager[Store]],
) -> None:
    history = ReadingHistoryService(store, clock)
    opened = await history.enable(ctx, library.backend, PASSWORD)
    secret_title, secret_item = "人間失格の秘密", "SECRET-ITEM-4711"
    await history.capture(ctx, [loan(secret_item, secret_title, clock().date())])

    async with open_test_store() as other:
        other_ctx = PatronContext.of(other, ctx.tenant, ctx.patron)
        other_history = ReadingHistoryService(other, clock)
        reopened = await other_history.open_at_login(other_ctx, PASSWORD)
        page = await other_history.list(other_ctx, reopened.key)
        assert [e.entry.item_id for e in page.entries] == [secret_item]
        assert opened.key is not None and reopened.key == opened.key

    dump: list[str] = []
    async with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                for value in row:
                    if isinstance(value, bytes):
                        dump.append(value.decode("utf-8", "replace"))
                        dump.append(value.hex())
                    dump.append(str(value))
    text = "\n".join(dump)
    assert secret_title not in text and secret_item not in text
    assert ctx.patron.card_number not in text
    assert ctx.owner.patron_key in text  # positive control: the dump did read the rows


class _CountingSettings:
    """The store's settings table, counting reads."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.reads = 0

    async def get(self, owner):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await self.inner.get(owner)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


async def test_looking_again_at_the_same_loans_spares_the_store(
    store: Store, ctx: PatronContext, library: Library, clock: Clock, monkeypatch
) -> None:
    counting = _CountingSettings(store.settings)
    monkeypatch.setattr(store, "settings", counting)
    history = ReadingHistoryService(store, clock)
    loans = [loan("A1", "坊っちゃん", clock().date())]

    # Off: asked once, then remembered for a while (a stale "off" only delays a capture).
    assert await history.capture(ctx, loans, looked=True) == 0
    assert await history.capture(ctx, loans, looked=True) == 0
    assert counting.reads == 1
    opened = await history.enable(ctx, library.backend, PASSWORD)  # forgets the "off" here
    assert await history.capture(ctx, loans, looked=True) == 1
    reads = counting.reads

    # On: the same (cached, frozen) loans are not written again; new objects are asked about.
    assert await history.capture(ctx, loans, looked=True) == 0
    assert counting.reads == reads
    await store.settings.set_reading_history(ctx.owner, False)  # switched off elsewhere
    later = [loan("A2", "こころ", clock().date())]
    assert await history.capture(ctx, later, looked=True) == 0, "'on' is never taken on trust"
    assert [e.entry.title for e in (await history.list(ctx, opened.key)).entries] == ["坊っちゃん"]


async def test_the_job_always_asks_the_store(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    history = ReadingHistoryService(store, clock)
    today = clock().date()
    assert await history.capture(ctx, [loan("A1", "坊っちゃん", today)], looked=True) == 0
    elsewhere = ReadingHistoryService(store, clock)  # another gateway process
    await elsewhere.enable(ctx, library.backend, PASSWORD)
    assert await history.capture(ctx, [loan("A1", "坊っちゃん", today)], looked=True) == 0
    assert await history.capture(ctx, [loan("A1", "坊っちゃん", today)]) == 1  # the job
