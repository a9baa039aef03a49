"""``ResilientBackend``: cache, retries, timeouts, a circuit breaker and read-back around any
``ILSBackend``, itself an ``ILSBackend``.

Reads (``patron_summary``, ``list_loans``, ``list_holds``, ``list_pickup_libraries``,
``get_item``):

- answered from the read cache while fresh (per tenant and patron; pickup libraries and items
  per tenant), else from the backend;
- retried with jittered exponential backoff (``RetryPolicy``), only when the backend is
  unreachable or timed out (``BackendUnavailable``), never for refusals or not-found, and not
  once the breaker has opened;
- when the backend is down (breaker open, or retries exhausted) answered from the last good
  data, reported stale through ``freshness.track_freshness()``; with no last good data,
  ``BackendUnavailable(retry_after=…)`` is raised. ``authenticate`` is retried, never cached.

Writes (renew, holds, checkout/checkin, password):

- never retried blindly. A write that timed out or raised ``OutcomeUnknown`` is checked by
  reading the patron's loans or holds back (``readback``): if it happened, its result is
  returned; if it certainly did not, it is tried once more; if that cannot be told,
  ``OutcomeUnknown`` is raised. Renewals and hold placement compare against a baseline taken
  before the write (the fresh cached list, else one read). ``checkin`` and ``change_password``
  cannot be checked and raise ``OutcomeUnknown``;
- refused fast with ``BackendUnavailable(retry_after=…)`` while the breaker is open;
- end the freshness of the patron's cached reads (kept only as last good data), whatever
  their outcome.

Every backend call runs under ``asyncio.timeout`` (``CallTimeouts``). ``metrics`` counts
``cache_hits``, ``cache_misses``, ``read_retries``, ``stale_served``, ``readbacks``,
``readback_happened``, ``readback_not_happened``, ``readback_unknown``, ``write_retries`` and
``cache_errors``; the breaker has its own ``metrics``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import TypeAdapter

from ils_gateway.adapters.base import CancelOutcome, Capabilities, ILSBackend
from ils_gateway.adapters.resilience import readback
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache
from ils_gateway.adapters.resilience.calls import GuardedCalls, opaque_scope
from ils_gateway.domain.errors import GatewayError, OutcomeUnknown
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Library,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.vocab import ContactMethod, Outcome

if TYPE_CHECKING:
    from ils_gateway.tenants.backends import Timeouts

T = TypeVar("T")
Verdict = tuple[bool | None, Any]  # (happened?, the write's result when it did)

_log = structlog.get_logger(__name__)

_PATRON = TypeAdapter(Patron)
_LOANS = TypeAdapter(list[Loan])
_HOLDS = TypeAdapter(list[Hold])
_LIBRARIES = TypeAdapter(list[Library])
_ITEM = TypeAdapter(Item)

# Patrons whose cache scope name is remembered; more start the memo again.
_MAX_PATRON_SCOPES = 10_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How reads are retried: at most ``attempts`` tries, full-jitter exponential waits."""

    attempts: int = 3
    first_wait: float = 0.2  # seconds; the n-th wait is uniform in [0, first_wait * 2**(n-1)]
    max_wait: float = 2.0


@dataclass(frozen=True, slots=True)
class CallTimeouts:
    """Seconds one backend call may take, for reads and for writes."""

    read: float = 20.0
    write: float = 30.0

    @classmethod
    def from_backend(cls, timeouts: Timeouts) -> CallTimeouts:
        """Whole-call limits from a tenant's per-phase timeouts (pool + connect + exchange)."""
        setup = timeouts.pool + timeouts.connect
        return cls(read=setup + timeouts.read, write=setup + timeouts.write + timeouts.read)


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long cached reads stay fresh: a patron's own data, and tenant-wide data."""

    patron_fresh_for: float = 60.0
    shared_fresh_for: float = 600.0  # pickup libraries, items


class ResilientBackend:
    """An ``ILSBackend`` adding caching, retries, timeouts, a breaker and read-back to another."""

    def __init__(
        self,
        inner: ILSBackend,
        *,
        tenant_id: str,
        cache: ReadCache | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeouts: CallTimeouts = CallTimeouts(),
        cache_policy: CachePolicy = CachePolicy(),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.tenant_id = tenant_id
        self.cache: ReadCache = cache if cache is not None else MemoryReadCache(clock=clock)
        self.breaker = breaker if breaker is not None else CircuitBreaker(tenant_id, clock=clock)
        self.metrics: Counter[str] = Counter()
        self._cache_policy = cache_policy
        self._clock = clock
        self._calls = GuardedCalls(
            tenant_id=tenant_id,
            system="ils",
            cache=self.cache,
            breaker=self.breaker,
            retry=retry,
            timeouts=timeouts,
            clock=clock,
            sleep=sleep,
            metrics=self.metrics,
        )
        self._shared_scope = self._scope("shared")
        # Scope names (hashes) per patron id; a plain dict, cleared when full: an LRU's
        # bookkeeping cost more than the hash it saves, on every cached read.
        self._patron_scopes: dict[str, str] = {}

    @property
    def capabilities(self) -> Capabilities:
        """The wrapped backend's capabilities."""
        return self.inner.capabilities

    # --- reads -------------------------------------------------------------------------------

    async def authenticate(self, card_number: str, password: str) -> Patron:
        """Check card + password (retried when the backend is unreachable; never cached)."""
        return await self._call_read(
            "authenticate", lambda: self.inner.authenticate(card_number, password)
        )

    async def patron_summary(self, patron: Patron) -> Patron:
        """Fresh patron record, cached per patron."""
        return await self._cached_read(
            "patron_summary",
            self._patron_scope(patron),
            "patron",
            lambda: self.inner.patron_summary(patron),
            _PATRON,
            self._cache_policy.patron_fresh_for,
        )

    async def list_loans(self, patron: Patron) -> list[Loan]:
        """Current loans, cached per patron."""
        return await self._cached_read(
            "list_loans",
            self._patron_scope(patron),
            "loans",
            lambda: self.inner.list_loans(patron),
            _LOANS,
            self._cache_policy.patron_fresh_for,
        )

    async def list_holds(self, patron: Patron) -> list[Hold]:
        """Current holds, cached per patron."""
        return await self._cached_read(
            "list_holds",
            self._patron_scope(patron),
            "holds",
            lambda: self.inner.list_holds(patron),
            _HOLDS,
            self._cache_policy.patron_fresh_for,
        )

    async def list_pickup_libraries(self) -> list[Library]:
        """Pickup libraries, cached per tenant."""
        return await self._cached_read(
            "list_pickup_libraries",
            self._shared_scope,
            "pickup_libraries",
            self.inner.list_pickup_libraries,
            _LIBRARIES,
            self._cache_policy.shared_fresh_for,
        )

    async def get_item(self, item_id: str) -> Item:
        """One item, cached per tenant (dropped on checkout/checkin of that item)."""
        return await self._cached_read(
            "get_item",
            self._shared_scope,
            f"item:{item_id}",
            lambda: self.inner.get_item(item_id),
            _ITEM,
            self._cache_policy.shared_fresh_for,
        )

    # --- writes ------------------------------------------------------------------------------

    async def renew(self, patron: Patron, item_id: str) -> RenewalResult:
        """Renew one loan; an unknown outcome is settled by comparing the loan before and after."""
        before = await self._baseline("list_loans", patron, "loans", _LOANS, self.inner.list_loans)

        async def verify() -> Verdict:
            after = readback.find_loan(await self._read_back_loans(patron), item_id)
            old = readback.find_loan(before, item_id) if before is not None else None
            happened = readback.renewed(old, after)
            result = RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=after)
            return happened, result if happened else None

        return await self._write(
            "renew",
            lambda: self.inner.renew(patron, item_id),
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def renew_many(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        """Renew several loans; items whose outcome is unknown are settled by reading back."""
        ids = list(item_ids)
        before = await self._baseline("list_loans", patron, "loans", _LOANS, self.inner.list_loans)
        try:
            completed_at: datetime | None = None
            try:
                batch = await self._attempt_write(
                    "renew_many", lambda: self.inner.renew_many(patron, ids)
                )
                results = list(batch.results)
                completed_at = batch.completed_at
            except OutcomeUnknown as unknown:
                results = [RenewalResult.from_error(item_id, unknown) for item_id in ids]
            if any(r.error_type == OutcomeUnknown.type_slug for r in results):
                results = await self._settle_renewals(patron, before, results)
            return BatchResult[RenewalResult](results=tuple(results), completed_at=completed_at)
        finally:
            await self._expire([(self._patron_scope(patron), None)])

    async def place_hold(
        self,
        patron: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """Place a hold; an unknown outcome is settled by looking for a new hold on the item."""
        before = await self._baseline("list_holds", patron, "holds", _HOLDS, self.inner.list_holds)

        async def verify() -> Verdict:
            if before is None:
                return None, None
            after = await self._read_back_holds(patron)
            placed = readback.new_hold_for(before, after, item_id)
            if placed is not None:
                return True, placed
            known = {h.id for h in before}
            # Some other new hold appeared (another item id for the same title?): cannot tell.
            return (None if any(h.id not in known for h in after) else False), None

        return await self._write(
            "place_hold",
            lambda: self.inner.place_hold(patron, item_id, pickup_library, contact_method),
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def cancel_hold(self, patron: Patron, hold_id: str) -> CancelOutcome:
        """Cancel a hold; an unknown outcome is settled by checking whether the hold is gone
        (cancelled) or still listed with a cancellation request (requested)."""

        async def verify() -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            outcome = readback.cancel_outcome(hold)
            return outcome is not None, outcome

        return await self._write(
            "cancel_hold",
            lambda: self.inner.cancel_hold(patron, hold_id),
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def change_hold(
        self,
        patron: Patron,
        hold_id: str,
        *,
        pickup_library: str | None = None,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """Change a hold; an unknown outcome is settled by reading the hold back."""

        async def verify() -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            return readback.changed_as_asked(hold, pickup_library, contact_method), hold

        return await self._write(
            "change_hold",
            lambda: self.inner.change_hold(
                patron, hold_id, pickup_library=pickup_library, contact_method=contact_method
            ),
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def suspend_hold(self, patron: Patron, hold_id: str, until: date | None) -> Hold:
        """Suspend a hold; an unknown outcome is settled by reading the hold back."""

        async def verify() -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            return readback.suspended_as_asked(hold, until), hold

        return await self._write(
            "suspend_hold",
            lambda: self.inner.suspend_hold(patron, hold_id, until),
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def resume_hold(self, patron: Patron, hold_id: str) -> Hold:
        """Resume a hold; an unknown outcome is settled by reading the hold back."""

        async def verify() -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            return readback.resumed(hold), hold

        return await self._write(
            "resume_hold",
            lambda: self.inner.resume_hold(patron, hold_id),
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        """Lend an item; an unknown outcome is settled by looking for the loan."""

        async def verify() -> Verdict:
            loan = readback.find_loan(await self._read_back_loans(patron), item_id)
            return loan is not None, loan

        return await self._write(
            "checkout",
            lambda: self.inner.checkout(patron, item_id),
            verify=verify,
            expire=[(self._patron_scope(patron), None), (self._shared_scope, f"item:{item_id}")],
        )

    async def checkin(self, item_id: str) -> Item:
        """Return an item (an unknown outcome is reported, not guessed)."""
        return await self._write(
            "checkin",
            lambda: self.inner.checkin(item_id),
            verify=None,
            expire=[(self._shared_scope, f"item:{item_id}")],
        )

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        """Change the password (an unknown outcome is reported, not guessed)."""
        await self._write(
            "change_password",
            lambda: self.inner.change_password(patron, old_password, new_password),
            verify=None,
            expire=[(self._patron_scope(patron), None)],
        )

    async def close(self) -> None:
        """Close the wrapped backend."""
        await self.inner.close()

    # --- machinery ---------------------------------------------------------------------------

    def _scope(self, *parts: str) -> str:
        # Opaque: SIP2 patron ids are card numbers, and scopes become Redis key names.
        return opaque_scope(self.tenant_id, *parts)

    def _patron_scope(self, patron: Patron) -> str:
        # Hashed once per patron (a SHA-256 on every cached read showed in profiles).
        scope = self._patron_scopes.get(patron.id)
        if scope is None:
            if len(self._patron_scopes) >= _MAX_PATRON_SCOPES:
                self._patron_scopes.clear()
            scope = self._patron_scopes[patron.id] = self._scope("patron", patron.id)
        return scope

    async def _cached_read(
        self,
        op: str,
        scope: str,
        key: str,
        call: Callable[[], Awaitable[T]],
        adapter: TypeAdapter[T],
        fresh_for: float,
    ) -> T:
        return await self._calls.cached_read(op, scope, key, call, adapter, fresh_for)

    async def _call_read(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        return await self._calls.read(op, call)

    async def _attempt_write(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        return await self._calls.write(op, call)

    async def _write(
        self,
        op: str,
        call: Callable[[], Awaitable[T]],
        *,
        verify: Callable[[], Awaitable[Verdict]] | None,
        expire: list[tuple[str, str | None]],
    ) -> T:
        try:
            try:
                return await self._attempt_write(op, call)
            except OutcomeUnknown:
                if verify is None:
                    raise
                happened, result = await self._verify(op, verify)
                if happened is None:
                    raise
                if happened:
                    return result  # type: ignore[no-any-return]
            # Read back: it certainly did not happen, so one more try cannot duplicate it.
            self.metrics["write_retries"] += 1
            return await self._attempt_write(op, call)
        finally:
            await self._expire(expire)

    async def _verify(self, op: str, verify: Callable[[], Awaitable[Verdict]]) -> Verdict:
        self.metrics["readbacks"] += 1
        try:
            happened, result = await verify()
        except GatewayError as exc:
            _log.warning("readback_failed", tenant=self.tenant_id, op=op, error=repr(exc))
            happened, result = None, None
        outcome = {True: "happened", False: "not_happened", None: "unknown"}[happened]
        self.metrics[f"readback_{outcome}"] += 1
        _log.info("write_read_back", tenant=self.tenant_id, op=op, outcome=outcome)
        return happened, result

    async def _settle_renewals(
        self, patron: Patron, before: list[Loan] | None, results: list[RenewalResult]
    ) -> list[RenewalResult]:
        unknown = OutcomeUnknown.type_slug
        settled: dict[str, RenewalResult] = {}
        to_retry: list[str] = []

        async def verify() -> Verdict:
            return True, await self._read_back_loans(patron)

        _, loans_now = await self._verify("renew_many", verify)
        for r in results:
            if r.error_type != unknown or loans_now is None or before is None:
                continue
            after = readback.find_loan(loans_now, r.item_id)
            happened = readback.renewed(readback.find_loan(before, r.item_id), after)
            if happened:
                settled[r.item_id] = RenewalResult(
                    item_id=r.item_id, outcome=Outcome.OK, loan=after
                )
            elif happened is False:
                to_retry.append(r.item_id)
        if to_retry:
            self.metrics["write_retries"] += 1
            try:
                retried = await self._attempt_write(
                    "renew_many", lambda: self.inner.renew_many(patron, to_retry)
                )
                settled.update((r.item_id, r) for r in retried.results)
            except GatewayError as exc:
                settled.update((i, RenewalResult.from_error(i, exc)) for i in to_retry)
        return [settled.get(r.item_id, r) for r in results]

    async def _baseline(
        self,
        op: str,
        patron: Patron,
        key: str,
        adapter: TypeAdapter[list[T]],
        read: Callable[[Patron], Awaitable[list[T]]],
    ) -> list[T] | None:
        """The patron's list before a write: the fresh cached one, else one read (None if down).

        Only fresh data will do: a last-good list may predate an earlier write of this patron.
        """
        cached = await self._calls.cache_get(self._patron_scope(patron), key)
        if cached is not None and cached.fresh(self._clock()):
            return self._calls.decoded(cached, adapter)
        try:
            return await self._call_read(op, lambda: read(patron))
        except GatewayError:
            return None

    async def _read_back_loans(self, patron: Patron) -> list[Loan]:
        return await self._call_read("list_loans", lambda: self.inner.list_loans(patron))

    async def _read_back_holds(self, patron: Patron) -> list[Hold]:
        return await self._call_read("list_holds", lambda: self.inner.list_holds(patron))

    async def _expire(self, targets: list[tuple[str, str | None]]) -> None:
        await self._calls.expire(targets)
