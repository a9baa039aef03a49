"""E-book use cases of one tenant: lists, borrow, early return, holds, title availability.

The tenant's e-book limits (``policy.ebooks``; ``policy.holds.max_ebook_holds``) are checked
before asking the e-library, with the same reasons the e-library would give (``loan_limit``,
``hold_limit``, ``duplicate_hold``, ``already_on_loan``); the e-library still has the final say
and its refusals pass through with its own message. Writes (borrow, early return, placing and
withdrawing holds) are refused during the tenant's maintenance window like the ILS's; title
lookups, like the lists, follow the tenant's feature restrictions for the caller's channel
(kiosk). Nothing here touches the ILS, the basket or the cancelled-hold history: e-books never
enter either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property, lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import structlog

from ils_gateway.adapters.resilience.journal import unsettled
from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.errors import GatewayError, HoldRefused, NotFound, Refused
from ils_gateway.domain.models import BatchResult, Hold, HoldResult, Loan, Patron
from ils_gateway.domain.vocab import Feature, Outcome, RefusalReason
from ils_gateway.elibrary.base import ElibraryBackend
from ils_gateway.services import rules
from ils_gateway.services.context import Caller, TenantContext
from ils_gateway.services.ebooks.merge import (
    EbookPart,
    hold_from_ebook,
    loan_from_ebook,
    merge_holds,
    merge_loans,
)

T = TypeVar("T")
E = TypeVar("E")
C = TypeVar("C")
A = TypeVar("A")
B = TypeVar("B")

_log = structlog.get_logger("ils_gateway.ebooks")

PART_UNAVAILABLE = "E-book loans and holds cannot be shown right now."


@lru_cache(maxsize=128)
def _available(count: int) -> EbookPart:
    # The same frozen part for every merged list with ``count`` e-book entries.
    return EbookPart(available=True, count=count)


# E-book list entries remembered per service (a few per patron of the cached reads).
_MAX_ENTRIES = 4096


class EbookService:
    """E-book use cases of one tenant, over its e-library."""

    def __init__(self, tenant: TenantContext, elibrary: ElibraryBackend) -> None:
        self._tenant = tenant
        self._elibrary = elibrary
        # A resilient e-library answers fresh cached lists without I/O (``fresh_loans``):
        # the merged lists then need no task beside the ILS read.
        self._fresh_loans = getattr(elibrary, "fresh_loans", None)
        self._fresh_holds = getattr(elibrary, "fresh_holds", None)
        # Cached reads hand out the same frozen e-book entries while fresh: each one's list
        # entry is remembered (id -> (e-book entry, Loan/Hold)), so merged lists are made of
        # the same objects too (``api.rendered`` then renders them once).
        self._entries: dict[int, tuple[object, Any]] = {}

    async def forget_patron(self, patron: Patron) -> None:
        """Drop the patron's cached e-book lists (at logout), where the e-library caches them."""
        forget = getattr(self._elibrary, "forget_patron", None)
        if forget is not None:
            await forget(patron.card_number)
        self._entries.clear()  # the list entries remembered for rendering go with them

    # -- lists ---------------------------------------------------------------------------

    async def loans(self, caller: Caller) -> list[EbookLoan]:
        """The patron's e-book loans with their due instants, earliest due first."""
        self._require(caller)
        try:
            return await self._elibrary.list_loans(caller.patron.card_number)
        except NotFound:
            return []  # not registered with the e-library yet: nothing borrowed

    async def holds(self, caller: Caller) -> list[EbookHold]:
        """The patron's e-book holds (waiting or ready), in the order placed."""
        self._require(caller)
        try:
            return await self._elibrary.list_holds(caller.patron.card_number)
        except NotFound:
            return []

    async def merged_loans(
        self, caller: Caller, ils_loans: Awaitable[list[Loan]]
    ) -> tuple[list[Loan], EbookPart]:
        """ILS loans (awaited as given) merged with e-book loans, read concurrently.

        An ILS failure fails the list; an e-library failure only marks the e-book part.
        """
        ils, ebooks, part = await self._beside(caller, ils_loans, self._fresh_loans, self.loans)
        zone = self._zone
        return merge_loans(ils, ebooks, zone, lambda e: self._entry(e, loan_from_ebook, zone)), part

    async def merged_holds(
        self, caller: Caller, ils_holds: Awaitable[list[Hold]]
    ) -> tuple[list[Hold], EbookPart]:
        """ILS holds (awaited as given) merged with e-book holds, read concurrently."""
        ils, ebooks, part = await self._beside(caller, ils_holds, self._fresh_holds, self.holds)
        zone = self._zone
        return merge_holds(ils, ebooks, zone, lambda e: self._entry(e, hold_from_ebook, zone)), part

    # -- titles --------------------------------------------------------------------------

    async def title(self, caller: Caller, title_id: str) -> EbookTitle:
        """One title with its availability now; ``NotFound`` when not licensed."""
        self._require(caller)
        return await self._elibrary.get_title(title_id)

    async def titles(self, caller: Caller, title_ids: Sequence[str]) -> list[EbookTitle]:
        """Titles with availability, for the ids the e-library knows (others left out)."""
        self._require(caller)
        return await self._elibrary.get_titles(list(dict.fromkeys(title_ids)))

    # -- loans ---------------------------------------------------------------------------

    async def borrow(self, caller: Caller, title_id: str) -> EbookLoan:
        """Borrow a title: a free copy, or the one kept for the patron's ready hold."""
        self._require_write(caller)
        card = caller.patron.card_number
        if unsettled("ebook_borrow", title_id):  # an earlier try may have lent it: read back
            return await self._elibrary.borrow(card, title_id)
        loans = await self.loans(caller)
        if any(loan.title.id == title_id for loan in loans):
            raise self._refusal(Refused, RefusalReason.ALREADY_ON_LOAN)
        limit = self._tenant.policy.ebooks.max_loans
        if limit is not None and len(loans) >= limit:
            raise self._refusal(Refused, RefusalReason.LOAN_LIMIT)
        return await self._elibrary.borrow(card, title_id)

    async def return_loan(self, caller: Caller, title_id: str) -> None:
        """Return an e-book before it returns itself."""
        self._require_write(caller)
        await self._elibrary.return_loan(caller.patron.card_number, title_id)

    # -- holds ---------------------------------------------------------------------------

    async def place_hold(
        self, caller: Caller, title_id: str, *, email: str | None = None
    ) -> EbookHold:
        """Queue the patron for a title no copy of which is free now."""
        self._require_write(caller)
        holds, loans = await asyncio.gather(self.holds(caller), self.loans(caller))
        if not unsettled("ebook_place_hold", title_id):  # else the e-library wrapper reads back
            self._check_new_hold(title_id, holds, loans)
        return await self._elibrary.place_hold(
            caller.patron.card_number, title_id, email=email or caller.patron.email
        )

    async def place_holds(
        self, caller: Caller, title_ids: Sequence[str]
    ) -> BatchResult[HoldResult]:
        """A hold on each title; one result per title, in request order (``POST /holds``)."""
        self._require_write(caller)
        holds, loans = await asyncio.gather(self.holds(caller), self.loans(caller))
        results: list[HoldResult] = []
        for title_id in title_ids:
            try:
                if not unsettled("ebook_place_hold", title_id):  # else read back
                    self._check_new_hold(title_id, holds, loans)
                placed = await self._elibrary.place_hold(
                    caller.patron.card_number, title_id, email=caller.patron.email
                )
            except GatewayError as exc:
                results.append(HoldResult.from_error(title_id, exc))
                continue
            holds.append(placed)
            results.append(
                HoldResult(
                    item_id=title_id, outcome=Outcome.OK, hold=hold_from_ebook(placed, self._zone)
                )
            )
        return BatchResult[HoldResult](results=tuple(results), completed_at=self._tenant.now())

    async def cancel_hold(self, caller: Caller, title_id: str) -> None:
        """Withdraw an e-book hold, waiting or ready (never kept in the cancelled-hold history)."""
        self._require_write(caller)
        await self._elibrary.cancel_hold(caller.patron.card_number, title_id)

    # -- helpers -------------------------------------------------------------------------

    async def _beside(
        self,
        caller: Caller,
        ils: Awaitable[A],
        peek: Callable[[str], list[T] | None] | None,
        read: Callable[[Caller], Awaitable[list[T]]],
    ) -> tuple[A, list[T], EbookPart]:
        """The ILS list and the e-book entries: those still fresh in this process, else
        ``read`` beside the ILS read."""
        fresh = self._fresh(peek, caller)
        if fresh is not None:
            return await ils, fresh, _available(len(fresh))
        ils_entries, (ebooks, part) = await self._both(ils, self._part(read(caller)))
        return ils_entries, ebooks, part

    def _fresh(
        self, peek: Callable[[str], list[T] | None] | None, caller: Caller
    ) -> list[T] | None:
        # Only where the e-book part would be read at all (else the usual path explains why).
        if peek is None or not self._tenant.policy.feature_enabled(Feature.EBOOKS, caller.channel):
            return None
        return peek(caller.patron.card_number)

    def _entry(self, ebook: E, convert: Callable[[E, ZoneInfo], C], zone: ZoneInfo) -> C:
        known = self._entries.get(id(ebook))
        if known is not None and known[0] is ebook:
            return known[1]  # type: ignore[no-any-return]  # the identity check pins it to this C
        entry = convert(ebook, zone)
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[id(ebook)] = (ebook, entry)
        return entry

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self._tenant.config.timezone)

    @property
    def max_holds(self) -> int | None:
        """The tenant's e-book hold limit (the stricter of the two places it may be set)."""
        limits = [
            n
            for n in (
                self._tenant.policy.ebooks.max_holds,
                self._tenant.policy.holds.max_ebook_holds,
            )
            if n is not None
        ]
        return min(limits) if limits else None

    def _check_new_hold(
        self, title_id: str, holds: Sequence[EbookHold], loans: Sequence[EbookLoan]
    ) -> None:
        if any(hold.title.id == title_id for hold in holds):
            raise self._refusal(HoldRefused, RefusalReason.DUPLICATE_HOLD)
        if any(loan.title.id == title_id for loan in loans):
            raise self._refusal(HoldRefused, RefusalReason.ALREADY_ON_LOAN)
        limit = self.max_holds
        if limit is not None and len(holds) >= limit:
            raise self._refusal(HoldRefused, RefusalReason.HOLD_LIMIT)

    def _refusal(self, kind: type[Refused], reason: RefusalReason) -> Refused:
        return kind(
            reason,
            self._tenant.labels.label(reason, "en"),
            operator_detail="refused by tenant e-book rule before asking the e-library",
        )

    def _require(self, caller: Caller) -> None:
        self._tenant.require_feature(Feature.EBOOKS, caller.channel)

    def _require_write(self, caller: Caller) -> None:
        # The tenant's maintenance window pauses e-book writes too, like every other write.
        self._require(caller)
        rules.check_writes_allowed(self._tenant.policy, self._tenant.now())

    async def _part(self, read: Awaitable[list[T]]) -> tuple[list[T], EbookPart]:
        try:
            entries = await read
        except GatewayError as exc:
            _log.warning("ebook_part_unavailable", type=exc.type_slug, operator=exc.operator_detail)
            return [], EbookPart(available=False, detail=PART_UNAVAILABLE)
        return entries, EbookPart(available=True, count=len(entries))

    @staticmethod
    async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
        # The e-book read runs beside the ILS read; if the ILS read fails, the e-book task is
        # cancelled so that nothing outlives the request.
        task = asyncio.ensure_future(second)
        try:
            a = await first
        except BaseException:
            task.cancel()
            raise
        return a, await task
