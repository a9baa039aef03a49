"""The reservation basket (予約かご): collect items, then place holds on the chosen ones at once.

Putting an item in the basket is not a hold. Confirming places one hold per selected item with
one pickup library and contact method; each item gets its own result: placed items leave the
basket, refused (or failed) ones stay with their reason. E-books never enter the basket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ils_gateway.adapters.base import Capability, ILSBackend
from ils_gateway.domain.clock import Clock
from ils_gateway.domain.errors import BadRequest, FeatureDisabled, GatewayError
from ils_gateway.domain.models import BatchResult, HoldResult, Item
from ils_gateway.domain.vocab import ContactMethod, Feature, ItemSource, MaterialType, Outcome
from ils_gateway.services.mylists.context import PatronContext
from ils_gateway.services.mylists.errors import ListLimitReached, store_errors
from ils_gateway.services.rules import check_writes_allowed
from ils_gateway.store.records import BasketAddOutcome, BasketItem
from ils_gateway.store.store import Store

#: The basket only ever holds items of the library system (e-books are held at the e-library).
BASKET_SOURCE = ItemSource.ILS.value


@dataclass(frozen=True, slots=True)
class BasketAdded:
    """The answer to adding an item: whether it was new, and the basket's size and limit."""

    item_id: str
    added: bool
    count: int
    limit: int


class BasketService:
    """Adds to, removes from, lists and confirms a patron's basket."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def _limit(self, ctx: PatronContext) -> int:
        ctx.require(Feature.BASKET)
        size = ctx.policy.lists.basket_size
        if size is None:
            raise FeatureDisabled(Feature.BASKET, ctx.channel, "This library has no basket")
        return size

    async def list(self, ctx: PatronContext) -> list[BasketItem]:
        """The basket, oldest first."""
        self._limit(ctx)
        return await self._store.basket.list(ctx.owner)

    async def add(
        self,
        ctx: PatronContext,
        backend: ILSBackend,
        item_id: str,
        *,
        source: ItemSource = ItemSource.ILS,
        title: str | None = None,
    ) -> BasketAdded:
        """Put an item in the basket; the title is looked up when the caller has none.

        Raises ``BadRequest`` for an e-book and ``ListLimitReached`` when the basket is full.
        """
        limit = self._limit(ctx)
        if source is not ItemSource.ILS:
            raise BadRequest("E-books are reserved directly, not through the basket")
        if title is None:
            item = await self._lookup(backend, item_id)
            if item.source is ItemSource.EBOOK or item.material_type is MaterialType.EBOOK:
                raise BadRequest("E-books are reserved directly, not through the basket")
            title = item.title
        with store_errors():
            result = await self._store.basket.add(
                ctx.owner, BASKET_SOURCE, item_id, title, max_items=limit
            )
        if result.outcome is BasketAddOutcome.FULL:
            raise ListLimitReached("basket", limit, f"The basket holds at most {limit} items")
        return BasketAdded(
            item_id, result.outcome is BasketAddOutcome.ADDED, result.count, result.limit
        )

    async def remove(self, ctx: PatronContext, item_id: str) -> bool:
        """Take an item out; False when it was not there."""
        self._limit(ctx)
        return await self._store.basket.remove(ctx.owner, BASKET_SOURCE, item_id)

    async def clear(self, ctx: PatronContext) -> int:
        """Empty the basket; returns how many items were in it."""
        self._limit(ctx)
        return await self._store.basket.clear(ctx.owner)

    async def confirm(
        self,
        ctx: PatronContext,
        backend: ILSBackend,
        item_ids: Sequence[str],
        *,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> BatchResult[HoldResult]:
        """Place holds on the selected basket items, one result per item in the order given.

        Holds are placed one after another (each can change the patron's hold count, which the
        library's limits read). Only placed items leave the basket.
        """
        self._limit(ctx)
        ctx.require(Feature.HOLDS)
        check_writes_allowed(ctx.policy, self._clock())
        if not backend.capabilities.supports(Capability.PLACE_HOLD):
            raise FeatureDisabled(Feature.HOLDS, ctx.channel)
        if len(set(item_ids)) != len(item_ids):
            raise BadRequest("An item is selected twice")
        in_basket = {b.item_id for b in await self._store.basket.list(ctx.owner)}
        results: list[HoldResult] = []
        for item_id in item_ids:
            if item_id not in in_basket:
                results.append(
                    HoldResult(
                        item_id=item_id,
                        outcome=Outcome.ERROR,
                        error_type="not-found",
                        detail="This item is not in the basket",
                    )
                )
                continue
            try:
                hold = await backend.place_hold(ctx.patron, item_id, pickup_library, contact_method)
            except GatewayError as error:
                results.append(HoldResult.from_error(item_id, error))
                continue
            results.append(HoldResult(item_id=item_id, outcome=Outcome.OK, hold=hold))
        placed = [(BASKET_SOURCE, r.item_id) for r in results if r.ok]
        await self._store.basket.remove_many(ctx.owner, placed)
        return BatchResult[HoldResult](results=tuple(results), completed_at=self._clock())

    @staticmethod
    async def _lookup(backend: ILSBackend, item_id: str) -> Item:
        if not backend.capabilities.supports(Capability.GET_ITEM):
            raise BadRequest("Give the item's title: this library system cannot look it up")
        return await backend.get_item(item_id)
