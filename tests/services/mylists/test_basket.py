"""The basket on both databases, confirmed through the Koha adapter into the simulated library."""

from __future__ import annotations

import pytest
from mylists_support import OTHER_CARD, OTHER_PASSWORD, Clock, Library, make_tenant

from ils_gateway.domain.errors import BadRequest, FeatureDisabled, MaintenanceWindow
from ils_gateway.domain.vocab import Channel, ItemSource, Outcome, RefusalReason
from ils_gateway.services.mylists.basket import BasketService
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import ListLimitReached
from ils_gateway.store.store import Store


async def test_add_looks_up_title_and_refuses_duplicates_and_a_full_basket(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    basket = BasketService(store, clock)
    first = await basket.add(ctx, library.backend, "2000101", title="三国志 1")
    assert first.added and first.count == 1 and first.limit == 3
    again = await basket.add(ctx, library.backend, "2000101", title="三国志 1")
    assert not again.added and again.count == 1
    await basket.add(ctx, library.backend, "2000102")
    await basket.add(ctx, library.backend, "2000103", title="三国志 3")
    with pytest.raises(ListLimitReached) as info:
        await basket.add(ctx, library.backend, "2000104")
    assert info.value.limit == 3 and info.value.extensions()["list"] == "basket"
    items = await basket.list(ctx)
    assert [i.item_id for i in items] == ["2000101", "2000102", "2000103"]
    assert items[0].title == "三国志 1"
    assert await basket.remove(ctx, "2000102")
    assert not await basket.remove(ctx, "2000102")
    assert [i.item_id for i in await basket.list(ctx)] == ["2000101", "2000103"]


async def test_ebooks_never_enter_the_basket(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    basket = BasketService(store, clock)
    with pytest.raises(BadRequest):
        await basket.add(ctx, library.backend, "ebook-1", source=ItemSource.EBOOK, title="x")
    assert await basket.list(ctx) == []


async def test_confirm_places_holds_per_item_and_keeps_refused_ones(
    store: Store, ctx: PatronContext, library: Library, clock: Clock
) -> None:
    basket = BasketService(store, clock)
    for item_id in ("2000101", "2000104", "2000105"):
        await basket.add(ctx, library.backend, item_id)
    # The patron already holds title 4 (novel), so that one is refused as a duplicate.
    await library.backend.place_hold(ctx.patron, "2000104", "CEN")
    result = await basket.confirm(
        ctx, library.backend, ["2000101", "2000104", "2000999"], pickup_library="NIS"
    )
    outcomes = [(r.item_id, r.outcome) for r in result.results]
    assert outcomes == [
        ("2000101", Outcome.OK),
        ("2000104", Outcome.REFUSED),
        ("2000999", Outcome.ERROR),
    ]
    assert result.results[0].hold is not None
    assert result.results[0].hold.pickup_library == "NIS"
    assert result.results[1].reason is RefusalReason.DUPLICATE_HOLD
    # Placed left the basket; the refused one and the unselected one stay.
    assert [i.item_id for i in await basket.list(ctx)] == ["2000104", "2000105"]
    holds = library.sim.holds(ctx.patron.card_number)
    assert {h.biblio_id for h in holds} == {1, 4}


async def test_confirm_is_refused_in_the_maintenance_window(
    store: Store, library: Library, clock: Clock
) -> None:
    tenant = make_tenant(
        extra='\n[tenants.policy.maintenance]\nstart = "09:50:00"\nend = "10:20:00"\n'
    )
    patron = await library.backend.authenticate(OTHER_CARD, OTHER_PASSWORD)
    ctx = PatronContext.of(store, tenant, patron)
    basket = BasketService(store, clock)
    await basket.add(ctx, library.backend, "2000105")
    with pytest.raises(MaintenanceWindow):
        await basket.confirm(ctx, library.backend, ["2000105"], pickup_library="CEN")
    assert [i.item_id for i in await basket.list(ctx)] == ["2000105"]


async def test_tenant_without_basket_or_kiosk_restriction(
    store: Store, library: Library, clock: Clock
) -> None:
    patron = await library.backend.authenticate(OTHER_CARD, OTHER_PASSWORD)
    no_basket = make_tenant().model_copy(deep=True)
    no_basket = no_basket.model_copy(
        update={
            "policy": no_basket.policy.model_copy(
                update={"lists": no_basket.policy.lists.model_copy(update={"basket_size": None})}
            )
        }
    )
    basket = BasketService(store, clock)
    with pytest.raises(FeatureDisabled):
        await basket.list(PatronContext.of(store, no_basket, patron))
    kiosk_off = make_tenant(extra="")
    kiosk_off = kiosk_off.model_copy(
        update={
            "policy": kiosk_off.policy.model_copy(
                update={"disabled_features": {Channel.KIOSK: frozenset({"basket"})}}
            )
        }
    )
    with pytest.raises(FeatureDisabled):
        await basket.list(PatronContext.of(store, kiosk_off, patron, Channel.KIOSK))
