"""``ResilientBackend``: cache, retries, timeouts, a circuit breaker and read-back around any
``ILSBackend``, itself an ``ILSBackend``.

Reads (``patron_summary``, ``list_loans``, ``list_holds``, ``list_fees``,
``list_pickup_libraries``, ``get_item``):

- answered from the read cache while fresh (per tenant and patron; pickup libraries and items
  per tenant), else from the backend;
- retried with jittered exponential backoff (``RetryPolicy``), only when the backend is
  unreachable or timed out (``BackendUnavailable``), never for refusals or not-found, and not
  once the breaker has opened;
- when the backend is down (breaker open, or retries exhausted) answered from the last good
  data, reported stale through ``freshness.track_freshness()``; with no last good data,
  ``BackendUnavailable(retry_after=…)`` is raised. ``authenticate`` is retried, never cached.

Writes (renew, holds, checkout/checkin, password):

- never retried blindly. A write that timed out, lost its answer or got an unreadable one
  (``OutcomeUnknown``) is checked by reading the patron's loans or holds back (``readback``)
  against a baseline taken before the write (the fresh cached list, else one read): if it
  happened, its result is returned; if it certainly did not, it is tried once more; if that
  cannot be told, ``OutcomeUnknown`` is raised, saying what may have happened, and the write
  stays in the request's ``WriteJournal`` with its baseline. A retry with the same
  Idempotency-Key brings that journal back: the write is read back against the *first*
  baseline before anything is sent (``journal``); ``change_password`` by logging in with the new
  (then the old) password; ``checkin`` by the item's status (on loan before, not now);
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
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import TypeAdapter

from ils_gateway.adapters.base import (
    AccountPort,
    CancelOutcome,
    Capabilities,
    ContactChange,
    ILSBackend,
    ItemSighting,
    account_writes,
    no_sightings,
)
from ils_gateway.adapters.resilience import readback
from ils_gateway.adapters.resilience.breaker import CircuitBreaker
from ils_gateway.adapters.resilience.cache import (
    MemoryReadCache,
    ReadCache,
    patron_scope,
    tenant_scope,
)
from ils_gateway.adapters.resilience.calls import GuardedCalls
from ils_gateway.adapters.resilience.journal import PendingWrite, WriteJournal, current_journal
from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.errors import (
    AuthenticationFailed,
    BackendProtocolError,
    GatewayError,
    OutcomeUnknown,
)
from ils_gateway.domain.fees import FeeAccount
from ils_gateway.domain.logsafe import safe_error
from ils_gateway.domain.models import (
    BatchResult,
    Hold,
    Item,
    Library,
    Loan,
    Patron,
    RenewalResult,
)
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.domain.vocab import ContactMethod, Outcome
from ils_gateway.lru import SmallLru

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
_FEES = TypeAdapter(FeeAccount)

# Patrons whose cache scope name is remembered; more start the memo again.
_MAX_PATRON_SCOPES = 10_000


def backend_kind(inner: object) -> str:
    """The adapter's kind for metrics and spans: ``sip2``, ``koha``, ``folio`` (from its class
    name, ``Sip2Backend`` → ``sip2``), else ``ils``."""
    kind = type(inner).__name__.lower().removesuffix("backend")
    return kind or "ils"


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


# Reads here wait a random part (full jitter) of waits doubling from 0.2 s, at most 2 s.
_RETRY = RetryPolicy(max_wait=2.0)


class ResilientBackend:
    """An ``ILSBackend`` adding caching, retries, timeouts, a breaker and read-back to another."""

    def __init__(
        self,
        inner: ILSBackend,
        *,
        tenant_id: str,
        cache: ReadCache | None = None,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy = _RETRY,
        timeouts: CallTimeouts = CallTimeouts(),
        cache_policy: CachePolicy = CachePolicy(),
        clock: EpochSeconds = time.time,
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
            backend=backend_kind(inner),
        )
        self._shared_scope = tenant_scope(tenant_id, "ils")
        # Scope names per patron id; a plain dict, cleared when full: an LRU's bookkeeping
        # cost more than the string it saves, on every cached read.
        self._patron_scopes: SmallLru[str, str] = SmallLru(maxsize=_MAX_PATRON_SCOPES)

    @property
    def capabilities(self) -> Capabilities:
        """The wrapped backend's capabilities."""
        return self.inner.capabilities

    # --- reads -------------------------------------------------------------------------------

    async def authenticate(self, card_number: str, password: str) -> Patron:
        """Check card + password (retried when the backend is unreachable; never cached)."""
        return await self._calls.read(
            "authenticate", lambda: self.inner.authenticate(card_number, password)
        )

    async def patron_summary(self, patron: Patron) -> Patron:
        """Fresh patron record, cached per patron."""
        return await self._cached_per_patron(
            patron, "patron_summary", "patron", lambda: self.inner.patron_summary(patron), _PATRON
        )

    async def list_loans(self, patron: Patron) -> list[Loan]:
        """Current loans, cached per patron."""
        return await self._cached_per_patron(
            patron, "list_loans", "loans", lambda: self.inner.list_loans(patron), _LOANS
        )

    async def list_holds(self, patron: Patron) -> list[Hold]:
        """Current holds, cached per patron."""
        return await self._cached_per_patron(
            patron, "list_holds", "holds", lambda: self.inner.list_holds(patron), _HOLDS
        )

    async def list_ended_holds(self, patron: Patron) -> list[Hold]:
        """Holds the library system reports cancelled or expired (by anyone), cached per
        patron; empty where the backend cannot list them (SIP2, Koha's REST API)."""
        inner = getattr(self.inner, "list_ended_holds", None)
        if inner is None:
            return []
        return await self._cached_per_patron(
            patron, "list_ended_holds", "ended_holds", lambda: inner(patron), _HOLDS
        )

    async def list_fees(self, patron: Patron) -> FeeAccount:
        """Fines and fees, cached per patron (dropped with the patron's other reads)."""
        return await self._cached_per_patron(
            patron, "list_fees", "fees", lambda: self.inner.list_fees(patron), _FEES
        )

    async def list_pickup_libraries(self) -> list[Library]:
        """Pickup libraries, cached per tenant."""
        return await self._cached_per_tenant(
            "list_pickup_libraries",
            "pickup_libraries",
            self.inner.list_pickup_libraries,
            _LIBRARIES,
        )

    async def get_item(self, item_id: str) -> Item:
        """One item, cached per tenant (dropped on checkout/checkin of that item)."""
        return await self._cached_per_tenant(
            "get_item", f"item:{item_id}", lambda: self.inner.get_item(item_id), _ITEM
        )

    async def sight_item(self, item_id: str) -> Item:
        """A self-check's sighting (``ItemSighting``; the kiosk face's ``reply.item_seen``):
        read from the library system itself, never from the cache, which then holds it."""
        inner = self.inner
        if not isinstance(inner, ItemSighting):
            raise no_sightings(f"{type(inner).__name__} has no sight_item")
        return await self._calls.refreshed_read(
            "get_item",
            self._shared_scope,
            f"item:{item_id}",
            lambda: inner.sight_item(item_id),
            _ITEM,
            self._cache_policy.shared_fresh_for,
        )

    # --- writes ------------------------------------------------------------------------------

    async def renew(self, patron: Patron, item_id: str) -> RenewalResult:
        """Renew one loan; an unknown outcome is settled by comparing the loan with what it
        was before the first attempt (due date, renewal count)."""

        async def baseline() -> dict[str, Any]:
            loans = await self._loans_before(patron)
            return readback.loan_baseline(loans, item_id)

        async def verify(base: dict[str, Any]) -> Verdict:
            if not base.get("known"):
                return None, None
            after = readback.find_loan(await self._read_back_loans(patron), item_id)
            happened = readback.renewed(base.get("loan"), after)
            result = RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=after)
            return happened, result if happened else None

        return await self._write(
            "renew",
            item_id,
            lambda: self.inner.renew(patron, item_id),
            baseline=baseline,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def renew_many(
        self, patron: Patron, item_ids: Sequence[str]
    ) -> BatchResult[RenewalResult]:
        """Renew several loans; items whose outcome is unknown are settled by reading back."""
        ids = list(item_ids)
        journal = current_journal()
        try:
            earlier = {
                i: w for i in ids if journal and (w := journal.earlier_for("renew", i)) is not None
            }
            done = await self._settle_earlier_renewals(patron, earlier, journal)
            to_send = [i for i in ids if i not in done]
            completed_at: datetime | None = None
            results: list[RenewalResult] = []
            if to_send:
                loans = await self._loans_before(patron)
                bases = {i: readback.loan_baseline(loans, i) for i in to_send}
                bases.update((i, w.baseline) for i, w in earlier.items() if i in bases)
                for i in to_send:
                    self._journal_unknown(journal, PendingWrite("renew", i, bases[i]))
                try:
                    batch = await self._attempt_write(
                        "renew_many", lambda: self.inner.renew_many(patron, to_send)
                    )
                    results = list(batch.results)
                    completed_at = batch.completed_at
                except OutcomeUnknown:
                    results = [RenewalResult.from_error(i, _unknown("renew")) for i in to_send]
                except GatewayError:
                    for i in to_send:
                        self._journal_settled(journal, "renew", i)
                    raise
                if any(r.error_type == OutcomeUnknown.type_slug for r in results):
                    results = await self._settle_renewals(patron, bases, results)
                for r in results:
                    if r.ok and journal is not None:
                        journal.carried_out(PendingWrite("renew", r.item_id, bases[r.item_id]))
                    elif r.error_type != OutcomeUnknown.type_slug:
                        self._journal_settled(journal, "renew", r.item_id)
            done.update((r.item_id, r) for r in results)
            return BatchResult[RenewalResult](
                results=tuple(done[i] for i in ids), completed_at=completed_at
            )
        finally:
            await self._expire([(self._patron_scope(patron), None)])

    async def place_hold(
        self,
        patron: Patron,
        item_id: str,
        pickup_library: str,
        contact_method: ContactMethod | None = None,
    ) -> Hold:
        """Place a hold; an unknown outcome is settled by looking for a hold that was not there
        before the first attempt, on the copy or (title-level, listed under the record) its
        title."""

        async def baseline() -> dict[str, Any]:
            holds = await self._baseline(
                "list_holds", patron, "holds", _HOLDS, self.inner.list_holds
            )
            return {
                "holds": [h.id for h in holds] if holds is not None else None,
                "title": await self._item_title(item_id),
            }

        async def verify(base: dict[str, Any]) -> Verdict:
            known = base.get("holds")
            if known is None:
                return None, None
            after = await self._read_back_holds(patron)
            return readback.hold_placed(known, after, item_id, base.get("title"))

        return await self._write(
            "place_hold",
            item_id,
            lambda: self.inner.place_hold(patron, item_id, pickup_library, contact_method),
            baseline=baseline,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def cancel_hold(self, patron: Patron, hold_id: str) -> CancelOutcome:
        """Cancel a hold; an unknown outcome is settled by checking whether the hold is gone
        (cancelled) or still listed with a cancellation request (requested)."""

        async def verify(base: dict[str, Any]) -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            outcome = readback.cancel_outcome(hold)
            return outcome is not None, outcome

        return await self._write(
            "cancel_hold",
            hold_id,
            lambda: self.inner.cancel_hold(patron, hold_id),
            baseline=None,
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

        async def verify(base: dict[str, Any]) -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            return readback.changed_as_asked(hold, pickup_library, contact_method), hold

        return await self._write(
            "change_hold",
            hold_id,
            lambda: self.inner.change_hold(
                patron, hold_id, pickup_library=pickup_library, contact_method=contact_method
            ),
            baseline=None,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
            idempotent=True,
        )

    async def suspend_hold(self, patron: Patron, hold_id: str, until: date | None) -> Hold:
        """Suspend a hold; an unknown outcome is settled by reading the hold back."""

        async def verify(base: dict[str, Any]) -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            return readback.suspended_as_asked(hold, until), hold

        return await self._write(
            "suspend_hold",
            hold_id,
            lambda: self.inner.suspend_hold(patron, hold_id, until),
            baseline=None,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def resume_hold(self, patron: Patron, hold_id: str) -> Hold:
        """Resume a hold; an unknown outcome is settled by reading the hold back."""

        async def verify(base: dict[str, Any]) -> Verdict:
            hold = readback.find_hold(await self._read_back_holds(patron), hold_id)
            return readback.resumed(hold), hold

        return await self._write(
            "resume_hold",
            hold_id,
            lambda: self.inner.resume_hold(patron, hold_id),
            baseline=None,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def checkout(self, patron: Patron, item_id: str) -> Loan:
        """Lend an item; an unknown outcome is settled by looking for the loan (and, when the
        patron had it already, for a new due date)."""

        async def baseline() -> dict[str, Any]:
            # A copy on the shelf (its status, read fresh: one request) cannot be on the
            # patron's loans: no need to list them all (a SIP2 library reads each loan's
            # title, a round trip per loan, before every self-check loan). A copy on loan, or
            # one whose status the backend does not give, is looked for in the patron's loans.
            if await self._cached_loans(patron) is None and await self._on_shelf(item_id):
                return readback.loan_baseline([], item_id)
            return readback.loan_baseline(await self._loans_before(patron), item_id)

        async def verify(base: dict[str, Any]) -> Verdict:
            if not base.get("known"):
                return None, None
            loan = readback.find_loan(await self._read_back_loans(patron), item_id)
            return readback.lent(base.get("loan"), loan), loan

        return await self._write(
            "checkout",
            item_id,
            lambda: self.inner.checkout(patron, item_id),
            baseline=baseline,
            verify=verify,
            expire=[(self._patron_scope(patron), None), (self._shared_scope, f"item:{item_id}")],
        )

    async def checkin(self, item_id: str) -> Item:
        """Return an item; an unknown outcome is settled by the item's status (there is no
        patron to read): on loan before and not now, it happened; still on loan, it did not;
        a copy that was not on loan, or a backend that gives no status, cannot tell."""

        async def baseline() -> dict[str, Any]:
            try:
                item = await self._calls.read("get_item", lambda: self.inner.get_item(item_id))
            except GatewayError:
                item = None
            return readback.item_baseline(item)

        async def verify(base: dict[str, Any]) -> Verdict:
            if base.get("on_loan") is not True:
                return None, None
            item = await self._calls.read("get_item", lambda: self.inner.get_item(item_id))
            return readback.returned(base, item), item

        return await self._write(
            "checkin",
            item_id,
            lambda: self.inner.checkin(item_id),
            baseline=baseline,
            verify=verify,
            expire=[(self._shared_scope, f"item:{item_id}")],
        )

    async def change_password(self, patron: Patron, old_password: str, new_password: str) -> None:
        """Change the password; an unknown outcome is read back by logging in with the new
        password (it happened) and else with the old one (it certainly did not: sent once
        more); when neither says, it stays unknown."""

        async def verify(base: dict[str, Any]) -> Verdict:
            return await readback.password_changed(
                lambda password: self.inner.authenticate(patron.card_number, password),
                old_password,
                new_password,
            )

        await self._write(
            "change_password",
            patron.id,
            lambda: self.inner.change_password(patron, old_password, new_password),
            baseline=None,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    # --- account lifecycle (issue 18) --------------------------------------------------------

    @property
    def account_writes(self) -> frozenset[str]:
        """The wrapped backend's account writes."""
        return account_writes(self.inner)

    async def find_patron(self, card_number: str) -> Patron:
        """The patron behind a card, without a password (retried when unreachable; never
        cached: it proves an identity or addresses a reset link)."""
        inner: AccountPort = self.inner  # type: ignore[assignment]  # checked by account_writes' callers: every adapter has find_patron
        return await self._calls.read("find_patron", lambda: inner.find_patron(card_number))

    async def set_password(self, patron: Patron, new_password: str) -> None:
        """Set the password; an unknown outcome is read back by logging in with the new one
        (it happened) before it is ever sent again; when that cannot tell, it stays unknown."""
        inner: AccountPort = self.inner  # type: ignore[assignment]  # only called where account_writes has "password"

        async def verify(base: dict[str, Any]) -> Verdict:
            try:
                await self.inner.authenticate(patron.card_number, new_password)
            except AuthenticationFailed:
                return None, None  # an old password is not known here: cannot tell
            return True, None

        await self._write(
            "set_password",
            patron.id,
            lambda: inner.set_password(patron, new_password),
            baseline=None,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
        )

    async def update_contact(self, patron: Patron, change: ContactChange) -> Patron:
        """Write a contact change; an unknown outcome is read back (the record shows the
        change: it happened) before it is sent again (the same values twice leave the same
        record, so a read-back that cannot tell allows one more send)."""
        inner: AccountPort = self.inner  # type: ignore[assignment]  # only called where account_writes has "contact"

        async def verify(base: dict[str, Any]) -> Verdict:
            fresh = await self.inner.patron_summary(patron)
            return (True, fresh) if change.applied_to(fresh) else (False, None)

        result: Patron = await self._write(
            "update_contact",
            patron.id,
            lambda: inner.update_contact(patron, change),
            baseline=None,
            verify=verify,
            expire=[(self._patron_scope(patron), None)],
            idempotent=True,
        )
        return result

    async def forget_patron(self, patron: Patron) -> None:
        """Drop the patron's cached reads (loans, holds, summary) at once: at logout."""
        scope = self._patron_scope(patron)
        self._patron_scopes.pop(patron.id, None)
        await self._calls.forget(scope)

    async def close(self) -> None:
        """Close the wrapped backend."""
        await self.inner.close()

    # --- machinery ---------------------------------------------------------------------------

    # These two hand back ``cached_read``'s coroutine for the caller to await (one coroutine
    # frame fewer on every cached read).
    def _cached_per_patron(
        self,
        patron: Patron,
        op: str,
        key: str,
        call: Callable[[], Awaitable[T]],
        adapter: TypeAdapter[T],
    ) -> Coroutine[Any, Any, T]:
        """A read cached for this patron alone, fresh for the patron part of the policy."""
        scope, fresh_for = self._patron_scope(patron), self._cache_policy.patron_fresh_for
        return self._calls.cached_read(op, scope, key, call, adapter, fresh_for)

    def _cached_per_tenant(
        self, op: str, key: str, call: Callable[[], Awaitable[T]], adapter: TypeAdapter[T]
    ) -> Coroutine[Any, Any, T]:
        """A read cached for every patron of the tenant, fresh for the shared part."""
        fresh_for = self._cache_policy.shared_fresh_for
        return self._calls.cached_read(op, self._shared_scope, key, call, adapter, fresh_for)

    def _patron_scope(self, patron: Patron) -> str:
        # Made once per patron (the shared cache names it by a keyed hash in Redis).
        scope = self._patron_scopes.get(patron.id)
        if scope is None:
            scope = self._patron_scopes[patron.id] = patron_scope(self.tenant_id, "ils", patron.id)
        return scope

    async def _attempt_write(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._calls.write(op, call)
        except BackendProtocolError as exc:
            # An answer came but could not be read (garbage, another patron's): the write
            # may have been carried out.
            raise _unknown(op, operator_detail=f"{op}: {exc!r}") from exc

    async def _write(
        self,
        op: str,
        target: str,
        call: Callable[[], Awaitable[T]],
        *,
        baseline: Callable[[], Awaitable[dict[str, Any]]] | None,
        verify: Callable[[dict[str, Any]], Awaitable[Verdict]] | None,
        expire: list[tuple[str, str | None]],
        idempotent: bool = False,
    ) -> T:
        """One write, sent at most once more only when a read-back says it did not happen.

        An ``idempotent`` write (setting a hold's pickup library or contact method: sent twice,
        it leaves the same state) is sent again when the read-back cannot tell, since the
        backend's lists may not show what it set.

        When an earlier request (same Idempotency-Key) left this write unknown, it is read back
        first, against the earlier baseline, and sent only when it certainly did not happen.
        A write that timed out may still reach the library system late (a slow server, a
        delaying link): a read-back that finds nothing then allows sending it again only
        ``RESEND_AFTER`` seconds after it was sent; until then the outcome stays unknown.
        """
        journal = current_journal()
        try:
            earlier = journal.earlier_for(op, target) if journal is not None else None
            if earlier is not None:
                assert journal is not None
                base = earlier.baseline
                happened, result = await self._verify(op, verify, base)
                if happened:
                    journal.carried_out(earlier)
                    return result  # type: ignore[no-any-return]  # a Verdict carries the write's own result as Any
                if idempotent:
                    pass  # the same change again leaves the same state: send it
                elif happened is None or earlier.done:  # a write done once is never resent
                    journal.left_unknown(earlier)
                    raise _unknown(op, operator_detail=f"{op}: earlier try still unknown")
                else:
                    wait = (earlier.resend_after or 0.0) - self._clock()
                    if wait > 0:  # the first try may still land: not yet
                        journal.left_unknown(earlier)
                        raise _unknown(
                            op, operator_detail=f"{op}: may still land", retry_after=wait
                        )
            else:
                base = await baseline() if baseline is not None else {}
            # Unknown until an answer says otherwise: a request cut off here (its deadline)
            # leaves the write unknown, never forgotten (and it may still land).
            late = PendingWrite(op, target, base, resend_after=self._clock() + RESEND_AFTER)
            self._journal_unknown(journal, late)
            try:
                result = await self._attempt_write(op, call)
            except OutcomeUnknown as unknown:
                if not _may_land_late(unknown):  # the connection broke: nothing more to come
                    self._journal_unknown(journal, PendingWrite(op, target, base))
                happened, result = await self._verify(op, verify, base)
                if idempotent and not happened:
                    happened = False  # cannot tell, or not yet: sending it again does no harm
                elif happened is None:
                    raise _unknown(op, operator_detail=unknown.operator_detail) from unknown
                elif not happened and _may_land_late(unknown):
                    detail = f"{op}: timed out, not seen yet; may still land"
                    wait = RESEND_AFTER
                    raise _unknown(op, operator_detail=detail, retry_after=wait) from unknown
                if not happened:
                    # Read back: it certainly did not happen, so one more try cannot duplicate it.
                    self.metrics["write_retries"] += 1
                    result = await self._attempt_write(op, call)
            if journal is not None:
                journal.carried_out(PendingWrite(op, target, base))
            return result  # type: ignore[no-any-return]  # a Verdict carries the write's own result as Any
        except OutcomeUnknown as exc:
            if getattr(exc, "explained", False):
                raise
            raise _unknown(op, operator_detail=exc.operator_detail) from exc
        except GatewayError:
            # An answer (a refusal) or a failure before sending: the outcome is known.
            self._journal_settled(journal, op, target)
            raise
        finally:
            await self._expire(expire)

    async def _verify(
        self,
        op: str,
        verify: Callable[[dict[str, Any]], Awaitable[Verdict]] | None,
        base: dict[str, Any],
    ) -> Verdict:
        if verify is None:
            return None, None
        self.metrics["readbacks"] += 1
        try:
            happened, result = await verify(base)
        except GatewayError as exc:
            _log.warning("readback_failed", tenant=self.tenant_id, op=op, error=safe_error(exc))
            happened, result = None, None
        outcome = {True: "happened", False: "not_happened", None: "unknown"}[happened]
        self.metrics[f"readback_{outcome}"] += 1
        _log.info("write_read_back", tenant=self.tenant_id, op=op, outcome=outcome)
        return happened, result

    @staticmethod
    def _journal_unknown(journal: WriteJournal | None, write: PendingWrite) -> None:
        if journal is not None:
            journal.left_unknown(write)

    @staticmethod
    def _journal_settled(journal: WriteJournal | None, op: str, target: str) -> None:
        if journal is not None:
            journal.settled(op, target)

    async def _settle_earlier_renewals(
        self, patron: Patron, earlier: dict[str, PendingWrite], journal: WriteJournal | None
    ) -> dict[str, RenewalResult]:
        """Renewals an earlier try left unknown, read back before anything is sent: those that
        happened answered ok, those still unknown answered unknown (neither is sent again)."""
        if not earlier:
            return {}

        async def verify(base: dict[str, Any]) -> Verdict:
            return True, await self._read_back_loans(patron)

        _, loans_now = await self._verify("renew_many", verify, {})
        done: dict[str, RenewalResult] = {}
        for item_id, write in earlier.items():
            happened: bool | None = None
            after = None
            if loans_now is not None and write.baseline.get("known"):
                after = readback.find_loan(loans_now, item_id)
                happened = readback.renewed(write.baseline.get("loan"), after)
            assert journal is not None
            if happened:
                done[item_id] = RenewalResult(item_id=item_id, outcome=Outcome.OK, loan=after)
                journal.carried_out(write)
            elif happened is None or write.done:  # a renewal made once is never resent
                done[item_id] = RenewalResult.from_error(item_id, _unknown("renew"))
                journal.left_unknown(write)
        return done

    async def _settle_renewals(
        self, patron: Patron, bases: dict[str, dict[str, Any]], results: list[RenewalResult]
    ) -> list[RenewalResult]:
        unknown = OutcomeUnknown.type_slug
        settled: dict[str, RenewalResult] = {}
        to_retry: list[str] = []

        async def verify(base: dict[str, Any]) -> Verdict:
            return True, await self._read_back_loans(patron)

        _, loans_now = await self._verify("renew_many", verify, {})
        for r in results:
            base = bases.get(r.item_id, {})
            if r.error_type != unknown or loans_now is None or not base.get("known"):
                continue
            after = readback.find_loan(loans_now, r.item_id)
            happened = readback.renewed(base.get("loan"), after)
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
            except OutcomeUnknown as exc:
                settled.update((i, RenewalResult.from_error(i, exc)) for i in to_retry)
            except GatewayError as exc:
                settled.update((i, RenewalResult.from_error(i, exc)) for i in to_retry)
        return [settled.get(r.item_id, r) for r in results]

    async def _loans_before(self, patron: Patron) -> list[Loan] | None:
        return await self._baseline("list_loans", patron, "loans", _LOANS, self.inner.list_loans)

    async def _cached_loans(self, patron: Patron) -> list[Loan] | None:
        """The patron's fresh cached loans, if any (no request)."""
        cached = await self._calls.cache_get(self._patron_scope(patron), "loans")
        if cached is not None and cached.fresh(self._clock()):
            return self._calls.decoded(cached, _LOANS)
        return None

    async def _on_shelf(self, item_id: str) -> bool:
        """Whether the copy is certainly not on loan now (read fresh; False when unknown)."""
        try:
            item = await self._calls.read("get_item", lambda: self.inner.get_item(item_id))
        except GatewayError:
            return False
        return readback.on_loan(item) is False

    async def _item_title(self, item_id: str) -> str | None:
        """The title of ``item_id`` (item information), which a title-level hold is listed by."""
        try:
            return (await self.get_item(item_id)).title or None
        except GatewayError:
            return None

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
            return await self._calls.read(op, lambda: read(patron))
        except GatewayError:
            return None

    async def _read_back_loans(self, patron: Patron) -> list[Loan]:
        return await self._calls.read("list_loans", lambda: self.inner.list_loans(patron))

    async def _read_back_holds(self, patron: Patron) -> list[Hold]:
        return await self._calls.read("list_holds", lambda: self.inner.list_holds(patron))

    async def _expire(self, targets: list[tuple[str, str | None]]) -> None:
        await self._calls.expire(targets)


# What a patron is told a write of unknown outcome may have done.
_MAY_HAVE = {
    "renew": "The renewal may have been made",
    "renew_many": "The renewals may have been made",
    "place_hold": "The hold may have been placed",
    "cancel_hold": "The hold may have been cancelled",
    "change_hold": "The hold may have been changed",
    "suspend_hold": "The hold may have been suspended",
    "resume_hold": "The hold may have been resumed",
    "checkout": "The item may have been lent",
    "checkin": "The item may have been returned",
    "change_password": "The password may have been changed",
}


# Seconds after sending a write that timed out before a read-back that does not find it
# allows sending it again (it may still be on its way to the library system).
RESEND_AFTER = 5.0


def _may_land_late(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is a timeout: the request may still be on its
    way or being carried out, so "not there yet" does not mean "never"."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, TimeoutError) or "Timeout" in type(seen).__name__:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _unknown(
    op: str, *, operator_detail: str | None = None, retry_after: float | None = None
) -> OutcomeUnknown:
    """``OutcomeUnknown`` saying what may have happened and how to learn the outcome (and,
    with ``retry_after``, when a retry can learn more)."""
    done = _MAY_HAVE.get(op, "The request may have been carried out")
    error = OutcomeUnknown(
        f"{done}; the library system did not confirm it. Retry with the same "
        "Idempotency-Key to learn the outcome (it will not be done twice).",
        operator_detail=operator_detail,
    )
    error.explained = True  # type: ignore[attr-defined]  # a marker render_error reads with getattr
    if retry_after is not None:
        error.retry_after = max(1, math.ceil(retry_after))
    return error
