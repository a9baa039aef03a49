"""``GuardedCalls``: how a resilient wrapper calls the system behind it.

Shared by ``backend.ResilientBackend`` (library systems) and
``ils_gateway.elibrary.resilient.ResilientElibrary`` (e-libraries), so both cache, retry,
time out, trip the breaker and serve last good data the same way:

- ``cached_read``: fresh from the cache, else a retried read whose answer is cached; when the
  system is down or answers wrongly (a protocol error), the last good answer reported stale
  (``freshness.report_stale``);
- ``read``: a retried read (``BackendUnavailable`` or ``BackendProtocolError`` only, and not
  once the breaker has opened);
- ``write``: one attempt under the breaker and the write timeout (never retried here);
- ``expire``: end the freshness of cached entries after a write;
- ``forget``: drop a patron's cached entries (logout).

Cached answers are kept decoded as well as encoded (``CachedRead.value``): lists as tuples of
frozen models, handed out as new lists, so a cache hit validates nothing and a caller that
appends to its list cannot change the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import structlog
from pydantic import TypeAdapter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from ils_gateway import deadline
from ils_gateway.adapters.resilience.breaker import BreakerState, CircuitBreaker
from ils_gateway.adapters.resilience.cache import CachedRead, ReadCache
from ils_gateway.adapters.resilience.freshness import report_stale
from ils_gateway.domain.clock import EpochSeconds
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BackendUnavailable,
    GatewayError,
    OutcomeUnknown,
)
from ils_gateway.domain.logsafe import safe_error
from ils_gateway.observability import metrics as prometheus
from ils_gateway.observability import tracing

if TYPE_CHECKING:
    from ils_gateway.adapters.resilience.backend import CallTimeouts
    from ils_gateway.domain.retry import RetryPolicy

T = TypeVar("T")

_log = structlog.get_logger("ils_gateway.adapters.resilience")


def _kept(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _handed_out(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class GuardedCalls:
    """Reads and writes to one system under its breaker, timeouts, retry policy and cache."""

    def __init__(
        self,
        *,
        tenant_id: str,
        system: str,
        cache: ReadCache,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        timeouts: CallTimeouts,
        clock: EpochSeconds,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Counter[str] | None = None,
        backend: str | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.system = system  # "ils" or "e-library", in log lines
        # The backend kind in metrics and spans (sip2, koha, folio, elibrary…): never an id.
        self.backend = backend or system
        self.cache = cache
        self.breaker = breaker
        self.retry = retry
        self.timeouts = timeouts
        self.clock = clock
        self.metrics: Counter[str] = metrics if metrics is not None else Counter()
        self._sleep = sleep
        # The cache's ``peek`` when it is in this process (answers without awaiting), else None.
        self._peek: Callable[[str, str], CachedRead | None] | None = getattr(cache, "peek", None)

    # --- reads -------------------------------------------------------------------------------

    async def cached_read(
        self,
        op: str,
        scope: str,
        key: str,
        call: Callable[[], Awaitable[T]],
        adapter: TypeAdapter[T],
        fresh_for: float,
    ) -> T:
        """The cached answer while fresh, else ``call`` (retried) cached; stale when down."""
        # What the cache holds in this process (every cached request): no awaiting through
        # ``cache_get``. Nothing there is a miss only for the in-process cache: ask ``get``
        # (the shared cache's near cache may not hold what Redis holds).
        peek = self._peek
        try:
            cached = peek(scope, key) if peek is not None else None
        except Exception:
            cached = None  # ``cache_get`` logs and counts the failure, and answers None
        if cached is None:
            cached = await self.cache_get(scope, key)
        read_at = self.clock()
        if cached is not None and read_at < cached.fresh_until:  # ``cached.fresh(read_at)``
            self.metrics["cache_hits"] += 1
            prometheus.cache_lookup(self.tenant_id, self.system, True)
            kept = cached.value
            if kept is not None:  # kept decoded: ``hit`` without its calls
                return cast(T, list(kept) if isinstance(kept, tuple) else kept)
            return self.hit(cached, adapter, scope, key)
        self.metrics["cache_misses"] += 1
        prometheus.cache_lookup(self.tenant_id, self.system, False)
        try:
            value = await self.read(op, call)
        except (BackendUnavailable, BackendProtocolError) as exc:
            # Down, or answering wrongly (garbage, another patron's answer): last good data.
            if cached is None:
                raise
            self.serving_stale(op, cached, exc)
            return self.decoded(cached, adapter)
        await self.cache_put(scope, key, self.entry(value, adapter, read_at, fresh_for))
        return value

    async def refreshed_read(
        self,
        op: str,
        scope: str,
        key: str,
        call: Callable[[], Awaitable[T]],
        adapter: TypeAdapter[T],
        fresh_for: float,
    ) -> T:
        """``call`` (retried) whatever the cache holds, its answer then cached: a read that
        must reach the library system (a self-check's sighting)."""
        read_at = self.clock()
        value = await self.read(op, call)
        await self.cache_put(scope, key, self.entry(value, adapter, read_at, fresh_for))
        return value

    def fresh_in_process(
        self, scope: str, key: str, adapter: TypeAdapter[T], now: float
    ) -> T | None:
        """The answer fresh at ``now`` when the cache is in this process and holds one, else
        None, without awaiting (a caller may then skip starting a task for a read it needs no
        I/O for); an answer given here counts as a cache hit, None counts nothing."""
        peek = getattr(self.cache, "peek", None)
        if peek is None:
            return None
        cached = peek(scope, key, now)
        if cached is None or not cached.fresh(now):
            return None
        self.metrics["cache_hits"] += 1
        prometheus.cache_lookup(self.tenant_id, self.system, True)
        return self.hit(cached, adapter, scope, key)

    @staticmethod
    def entry(value: T, adapter: TypeAdapter[T], read_at: float, fresh_for: float) -> CachedRead:
        """The cache entry for an answer read at ``read_at``."""
        return CachedRead(adapter.dump_json(value), read_at, read_at + fresh_for, _kept(value))

    @staticmethod
    def decoded(cached: CachedRead, adapter: TypeAdapter[T]) -> T:
        """The answer of a cache entry: its kept value (a fresh list), else its payload decoded."""
        if cached.value is not None:
            return _handed_out(cached.value)  # type: ignore[no-any-return]  # the kept value is the T that was read
        return adapter.validate_json(cached.payload)

    def hit(self, cached: CachedRead, adapter: TypeAdapter[T], scope: str, key: str) -> T:
        """``decoded``, the decoded value handed back to a cache that keeps decoded values in
        the process (``keep_decoded``: the shared cache's near cache), so the next hit needs
        no decoding."""
        if cached.value is not None:
            return _handed_out(cached.value)  # type: ignore[no-any-return]  # the kept value is the T that was read
        value = adapter.validate_json(cached.payload)
        keep = getattr(self.cache, "keep_decoded", None)
        if keep is not None:
            keep(scope, key, replace(cached, value=_kept(value)))
        return value

    def serving_stale(self, op: str, cached: CachedRead, exc: BaseException) -> None:
        """Count, log and report (``track_freshness``) one answer served from last good data."""
        self.metrics["stale_served"] += 1
        as_of = datetime.fromtimestamp(cached.read_at, UTC)
        _log.warning(
            "stale_read",
            tenant=self.tenant_id,
            system=self.system,
            op=op,
            as_of=as_of.isoformat(),
            error=safe_error(exc),
        )
        report_stale(as_of)

    async def read(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call`` under the breaker and read timeout, retried while the system is unreachable."""
        if self.retry.attempts <= 1:
            return await self.attempt(op, call, self.timeouts.read, write=False)
        backoff = wait_random_exponential(multiplier=self.retry.first_wait, max=self.retry.max_wait)

        def wait(state: RetryCallState) -> float:  # never past the request's deadline
            return deadline.bounded(backoff(state))

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait,
            retry=retry_if_exception(self._may_retry),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self.attempt(op, call, self.timeouts.read, write=False)
        raise AssertionError("tenacity ended without an outcome")  # pragma: no cover

    def _may_retry(self, exc: BaseException) -> bool:
        return (
            isinstance(exc, BackendUnavailable | BackendProtocolError)
            and self.breaker.state is BreakerState.CLOSED
            and deadline.time_left()
        )

    def _count_retry(self, state: RetryCallState) -> None:
        self.metrics["read_retries"] += 1

    # --- writes ------------------------------------------------------------------------------

    async def write(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt of a write under the breaker and the write timeout (a timeout: unknown)."""
        return await self.attempt(op, call, self.timeouts.write, write=True)

    async def attempt(
        self, op: str, call: Callable[[], Awaitable[T]], limit: float, *, write: bool
    ) -> T:
        """One call under the breaker, limited to ``limit`` seconds and to the request's
        deadline (a write to ``WRITE_SHARE`` of the time left, keeping the rest for reading
        it back). Past the deadline nothing is sent."""
        if not deadline.time_left():
            raise BackendUnavailable(
                "The library system did not answer in time; please try again shortly.",
                retry_after=1,
                operator_detail=f"request deadline reached before {op}",
            )
        limit = deadline.bounded(limit, deadline.WRITE_SHARE if write else 1.0)
        started = time.perf_counter()
        outcome = "error"
        try:
            with tracing.span(
                f"backend {op}", {"ils.backend": self.backend, "ils.operation": op}
            ) as span:
                try:
                    with self.breaker.guard():
                        try:
                            async with asyncio.timeout(limit):
                                result = await call()
                        except TimeoutError as exc:
                            detail = f"{op} timed out after {limit:g}s"
                            if write:
                                raise OutcomeUnknown(operator_detail=detail) from exc
                            raise BackendUnavailable(
                                retry_after=max(1, int(self.breaker.cooldown)),
                                operator_detail=detail,
                            ) from exc
                except BaseException as exc:
                    outcome = call_outcome(exc)
                    if span is not None:
                        span.set_attribute("ils.outcome", outcome)
                    raise
                outcome = "ok"
                if span is not None:
                    span.set_attribute("ils.outcome", outcome)
                return result
        finally:
            prometheus.backend_call(self.backend, op, outcome, time.perf_counter() - started)

    # --- the cache is an optimisation: when it fails, the system still answers ---------------

    async def cache_get(self, scope: str, key: str) -> CachedRead | None:
        """The cache entry, or None (also when the cache itself fails)."""
        try:
            return await self.cache.get(scope, key)
        except Exception as exc:
            self._cache_failed("get", exc)
            return None

    async def cache_put(self, scope: str, key: str, entry: CachedRead) -> None:
        """Store an entry; a failing cache is logged and counted, not raised."""
        try:
            await self.cache.put(scope, key, entry)
        except Exception as exc:
            self._cache_failed("put", exc)

    async def expire(self, targets: list[tuple[str, str | None]]) -> None:
        """End the freshness of each (scope, key or None for the whole scope)."""
        for scope, key in targets:
            try:
                await self.cache.expire(scope, key)
            except Exception as exc:
                # Other processes may serve pre-write data as fresh until it ages out.
                self._cache_failed("expire", exc)

    async def forget(self, scope: str) -> None:
        """Drop a scope's entries (a patron's, at logout); a failing cache is logged."""
        try:
            await self.cache.forget(scope)
        except Exception as exc:
            self._cache_failed("forget", exc)

    def _cache_failed(self, action: str, exc: Exception) -> None:
        self.metrics["cache_errors"] += 1
        _log.error(
            "read_cache_failed",
            tenant=self.tenant_id,
            system=self.system,
            action=action,
            error=safe_error(exc),
        )


def call_outcome(exc: BaseException) -> str:
    """The ``outcome`` label of a backend call that raised ``exc`` (a bounded word)."""
    if isinstance(exc, OutcomeUnknown):
        return "unknown"
    if isinstance(exc, BackendProtocolError):
        return "protocol_error"
    if isinstance(exc, BackendUnavailable):
        detail = exc.operator_detail or ""
        if "circuit breaker" in detail:
            return "rejected"
        return "timeout" if "timed out" in detail else "unavailable"
    if isinstance(exc, GatewayError):
        return "refused"  # an answer: a refusal, a not-found
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "error"
