"""``ResilientElibrary``: the ILS side's cache, breaker and last-good data around an e-library.

An ``ElibraryBackend`` wrapping another, with the pieces of ``adapters.resilience``
(``GuardedCalls``: read cache, breaker, timeouts, stale reporting through
``freshness.track_freshness()``):

- ``list_loans`` / ``list_holds`` are cached per tenant and patron (card) for
  ``ElibraryCachePolicy.patron_fresh_for``; ``get_title`` / ``get_titles`` per tenant and title
  for ``title_fresh_for`` (availability moves, so briefly). Loans past their due instant are
  left out of a cached list: the e-library has returned them by then;
- reads are retried by the adapter's client (GETs only), so not again here by default; once the
  breaker has opened they are refused at once and answered from the last good data, reported
  stale; with none, ``BackendUnavailable`` stands (the merged lists mark the e-book part);
- writes (borrow, early return, placing and cancelling holds) pass once under the breaker and
  the write timeout, and, whatever their outcome, end the freshness of the patron's cached
  lists and of the title written about. A write whose outcome is unknown (no answer, or one
  that breaks the protocol) is read back: the patron's holds or loans are read; the title
  listed (hold placed, borrowed) or gone (hold cancelled, returned) is the state the write
  makes, so it is answered as done; otherwise the write certainly did not happen and is sent
  once more (a state, not a count: nothing can be doubled); a list that cannot be read leaves
  it ``OutcomeUnknown``, kept in the request's
  ``WriteJournal`` so that a retry with the same Idempotency-Key reads back before anything is
  sent (as ``ResilientBackend`` does for the ILS).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import TypeAdapter

from ils_gateway.adapters.resilience.backend import CallTimeouts
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.cache import (
    MemoryReadCache,
    ReadCache,
    patron_scope,
    tenant_scope,
)
from ils_gateway.adapters.resilience.calls import GuardedCalls
from ils_gateway.adapters.resilience.journal import PendingWrite, current_journal
from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.ebooks import EbookHold, EbookLoan, EbookTitle
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    GatewayError,
    OutcomeUnknown,
)
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.elibrary.base import ElibraryBackend
from ils_gateway.lru import SmallLru

R = TypeVar("R")

_LOANS = TypeAdapter(list[EbookLoan])
_HOLDS = TypeAdapter(list[EbookHold])
_TITLE = TypeAdapter(EbookTitle)

# Patrons whose cache scope name (a hash) is remembered; more start the memo again.
_MAX_PATRON_SCOPES = 10_000

# The adapter's client already retries GETs on transport failures and 502/503/504.
NO_EXTRA_RETRIES = RetryPolicy(attempts=1)
DEFAULT_TIMEOUTS = CallTimeouts()


@dataclass(frozen=True, slots=True)
class ElibraryCachePolicy:
    """How long cached e-library reads stay fresh: a patron's lists, and title availability."""

    patron_fresh_for: float = 60.0
    title_fresh_for: float = 30.0


class ResilientElibrary:
    """An ``ElibraryBackend`` adding a read cache, a breaker and last good data to another."""

    def __init__(
        self,
        inner: ElibraryBackend,
        *,
        tenant_id: str,
        cache: ReadCache | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy = NO_EXTRA_RETRIES,
        timeouts: CallTimeouts = DEFAULT_TIMEOUTS,
        cache_policy: ElibraryCachePolicy = ElibraryCachePolicy(),
        clock: EpochSeconds = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.tenant_id = tenant_id
        self.metrics: Counter[str] = Counter()
        self._policy = cache_policy
        self._clock = clock
        self._calls = GuardedCalls(
            tenant_id=tenant_id,
            system="e-library",
            backend="elibrary",
            cache=cache if cache is not None else MemoryReadCache(clock=clock),
            breaker=breaker or CircuitBreaker(f"{tenant_id} e-library", clock=clock),
            retry=retry,
            timeouts=timeouts,
            clock=clock,
            sleep=sleep,
            metrics=self.metrics,
        )
        self._titles_scope = tenant_scope(tenant_id, "ebook-titles")
        self._patron_scopes: SmallLru[str, str] = SmallLru(
            maxsize=_MAX_PATRON_SCOPES
        )  # hashed once per patron (bounded below)

    @property
    def cache(self) -> ReadCache:
        """Where the answers are kept."""
        return self._calls.cache

    @property
    def breaker(self) -> CircuitBreaker:
        """The e-library's circuit breaker."""
        return self._calls.breaker

    # -- reads ---------------------------------------------------------------------------

    async def list_loans(self, card_number: str) -> list[EbookLoan]:
        """The patron's e-book loans (cached per patron), earliest due first."""
        loans = await self._calls.cached_read(
            "ebook_list_loans",
            self._patron_scope(card_number),
            "loans",
            lambda: self.inner.list_loans(card_number),
            _LOANS,
            self._policy.patron_fresh_for,
        )
        return self._not_returned(loans, self._clock())

    def fresh_loans(self, card_number: str) -> list[EbookLoan] | None:
        """``list_loans`` when a fresh answer is cached in this process, else None (no I/O)."""
        now = self._clock()
        scope = self._patron_scope(card_number)
        loans = self._calls.fresh_in_process(scope, "loans", _LOANS, now)
        return None if loans is None else self._not_returned(loans, now)

    def fresh_holds(self, card_number: str) -> list[EbookHold] | None:
        """``list_holds`` when a fresh answer is cached in this process, else None (no I/O)."""
        scope = self._patron_scope(card_number)
        return self._calls.fresh_in_process(scope, "holds", _HOLDS, self._clock())

    @staticmethod
    def _not_returned(loans: list[EbookLoan], now: float) -> list[EbookLoan]:
        if all(loan.due.timestamp() > now for loan in loans):
            return loans
        return [loan for loan in loans if loan.due.timestamp() > now]  # returned themselves

    async def list_holds(self, card_number: str) -> list[EbookHold]:
        """The patron's e-book holds (cached per patron), in the order placed."""
        return await self._calls.cached_read(
            "ebook_list_holds",
            self._patron_scope(card_number),
            "holds",
            lambda: self.inner.list_holds(card_number),
            _HOLDS,
            self._policy.patron_fresh_for,
        )

    async def get_title(self, title_id: str) -> EbookTitle:
        """One title with its availability (cached per title)."""
        return await self._calls.cached_read(
            "ebook_get_title",
            self._titles_scope,
            title_id,
            lambda: self.inner.get_title(title_id),
            _TITLE,
            self._policy.title_fresh_for,
        )

    async def get_titles(self, title_ids: Sequence[str]) -> list[EbookTitle]:
        """Titles with availability for the ids the e-library knows, in the order asked.

        Fresh cached titles are not asked again; the rest are asked in one call and cached.
        When the e-library is down, the last good titles are served stale if every id asked
        has one (an id without one cannot be told apart from an unknown title).
        """
        ids = list(dict.fromkeys(title_ids))
        now = self._clock()
        cached = {i: await self._calls.cache_get(self._titles_scope, i) for i in ids}
        found = {
            i: self._calls.decoded(entry, _TITLE)
            for i, entry in cached.items()
            if entry is not None and entry.fresh(now)
        }
        missing = [i for i in ids if i not in found]
        self.metrics["cache_hits"] += len(found)
        if missing:
            self.metrics["cache_misses"] += len(missing)
            try:
                fetched = await self._calls.read(
                    "ebook_get_titles", lambda: self.inner.get_titles(missing)
                )
            except (BackendUnavailable, BackendProtocolError) as exc:
                last_good = [cached[i] for i in missing]
                if any(entry is None for entry in last_good):
                    raise
                for i in missing:
                    entry = cached[i]
                    assert entry is not None
                    self._calls.serving_stale("ebook_get_titles", entry, exc)
                    found[i] = self._calls.decoded(entry, _TITLE)
            else:
                fresh_for = self._policy.title_fresh_for
                for title in fetched:
                    entry = GuardedCalls.entry(title, _TITLE, now, fresh_for)
                    await self._calls.cache_put(self._titles_scope, title.id, entry)
                    found[title.id] = title
        return [found[i] for i in ids if i in found]

    # -- writes --------------------------------------------------------------------------

    async def place_hold(
        self, card_number: str, title_id: str, *, email: str | None = None
    ) -> EbookHold:
        """Queue the patron for the title (once; the patron's lists and the title re-read)."""
        return await self._write(
            "ebook_place_hold",
            card_number,
            title_id,
            lambda: self.inner.place_hold(card_number, title_id, email=email),
            listed=self._holds_now,
            done_when_listed=True,
        )

    async def cancel_hold(self, card_number: str, title_id: str) -> None:
        """Withdraw the patron's hold on the title."""
        await self._write(
            "ebook_cancel_hold",
            card_number,
            title_id,
            lambda: self.inner.cancel_hold(card_number, title_id),
            listed=self._holds_now,
            done_when_listed=False,
        )

    async def borrow(self, card_number: str, title_id: str) -> EbookLoan:
        """Lend the title to the patron."""
        return await self._write(
            "ebook_borrow",
            card_number,
            title_id,
            lambda: self.inner.borrow(card_number, title_id),
            listed=self._loans_now,
            done_when_listed=True,
        )

    async def return_loan(self, card_number: str, title_id: str) -> None:
        """Return the patron's loan of the title early."""
        await self._write(
            "ebook_return",
            card_number,
            title_id,
            lambda: self.inner.return_loan(card_number, title_id),
            listed=self._loans_now,
            done_when_listed=False,
        )

    async def forget_patron(self, card_number: str) -> None:
        """Drop the patron's cached e-book loans and holds at once: at logout."""
        scope = self._patron_scope(card_number)
        self._patron_scopes.pop(card_number, None)
        await self._calls.forget(scope)

    async def aclose(self) -> None:
        """Close the wrapped e-library."""
        await self.inner.aclose()

    # -- machinery -----------------------------------------------------------------------

    def _patron_scope(self, card_number: str) -> str:
        scope = self._patron_scopes.get(card_number)
        if scope is None:
            scope = patron_scope(self.tenant_id, "ebook", card_number)
            self._patron_scopes[card_number] = scope
        return scope

    async def _holds_now(self, card_number: str) -> list[EbookHold]:
        return await self._calls.read(
            "ebook_list_holds", lambda: self.inner.list_holds(card_number)
        )

    async def _loans_now(self, card_number: str) -> list[EbookLoan]:
        return await self._calls.read(
            "ebook_list_loans", lambda: self.inner.list_loans(card_number)
        )

    async def _write(
        self,
        op: str,
        card_number: str,
        title_id: str,
        call: Callable[[], Awaitable[R]],
        *,
        listed: Callable[[str], Awaitable[Sequence[EbookHold] | Sequence[EbookLoan]]],
        done_when_listed: bool,
    ) -> R:
        """One write; when its outcome is unknown, the title's presence in ``listed`` says
        whether the state it makes is there."""
        journal = current_journal()

        async def listing() -> Sequence[EbookHold] | Sequence[EbookLoan] | None:
            try:
                return await listed(card_number)
            except GatewayError:
                return None

        def entry(entries: Sequence[EbookHold] | Sequence[EbookLoan] | None) -> R | None:
            found = next((e for e in entries or () if e.title.id == title_id), None)
            return found  # type: ignore[return-value]  # R is the entry type `listed` returns

        async def verify() -> tuple[bool | None, R | None]:
            now = await listing()
            if now is None:
                return None, None
            found = entry(now)
            return (found is not None) is done_when_listed, found

        try:
            earlier = journal.earlier_for(op, title_id) if journal is not None else None
            if earlier is not None:
                assert journal is not None
                happened, result = await verify()
                if happened:
                    journal.carried_out(earlier)
                    return result  # type: ignore[return-value]  # a read-back's result is the write's own
                if happened is None or earlier.done:  # a write done once is never resent
                    journal.left_unknown(earlier)
                    raise OutcomeUnknown(_EBOOK_UNKNOWN)
            if journal is not None:
                journal.left_unknown(PendingWrite(op, title_id))
            try:
                result = await self._attempt_write(op, call)
            except OutcomeUnknown as exc:
                self.metrics["readbacks"] += 1
                happened, result = await verify()
                if happened is None:
                    raise OutcomeUnknown(
                        _EBOOK_UNKNOWN, operator_detail=exc.operator_detail
                    ) from exc
                if not happened:
                    self.metrics["write_retries"] += 1
                    result = await self._attempt_write(op, call)
            if journal is not None:
                journal.carried_out(PendingWrite(op, title_id))
            return result  # type: ignore[return-value]  # a read-back's result is the write's own
        except OutcomeUnknown:
            raise
        except GatewayError:
            if journal is not None:
                journal.settled(op, title_id)
            raise
        finally:
            await self._calls.expire(
                [(self._patron_scope(card_number), None), (self._titles_scope, title_id)]
            )

    async def _attempt_write(self, op: str, call: Callable[[], Awaitable[R]]) -> R:
        try:
            return await self._calls.write(op, call)
        except BackendProtocolError as exc:  # an answer that could not be read: maybe done
            raise OutcomeUnknown(_EBOOK_UNKNOWN, operator_detail=f"{op}: {exc!r}") from exc


_EBOOK_UNKNOWN = (
    "The e-library did not confirm this request; it may have been carried out. Retry with the "
    "same Idempotency-Key to learn the outcome (it will not be done twice)."
)
