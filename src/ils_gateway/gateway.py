"""Wiring: from tenant configuration to each tenant's backend and services.

``GatewaySettings`` is what ``create_app`` takes. ``open_gateway(settings)`` (an async context
manager, used by the app's cleanup context) builds every tenant's backend by its ``kind``,
wraps it in ``ResilientBackend`` (cache, read retries, breaker, timeouts, write read-back) and
closes them all on exit, only those it opened; with ``settings.store`` it first opens the gateway
store and the list services (``services.mylists.runtime``), closed after the backends.
``Gateway`` then hands a ``TenantRuntime`` (context + services) to the API per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

import structlog

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache
from ils_gateway.domain.clock import Clock, EpochSeconds, epoch_seconds, system_clock
from ils_gateway.domain.errors import GatewayError, NotFound
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.services.account import AccountService
from ils_gateway.services.catalog import CatalogService
from ils_gateway.services.context import TenantContext
from ils_gateway.services.holds import HoldService
from ils_gateway.services.loans import LoanService
from ils_gateway.services.mylists.hooks import ListHooks
from ils_gateway.services.mylists.runtime import MyLists, StoreSettings, open_mylists
from ils_gateway.tenants.loader import TenantRegistry
from ils_gateway.tenants.models import TenantConfig

BackendFactory = Callable[[TenantConfig, Clock], ILSBackend]
# The wrapper gets the tenant, its adapter, its read cache and the gateway's clock in epoch seconds.
BackendWrapper = Callable[[TenantConfig, ILSBackend, ReadCache, EpochSeconds], ILSBackend]

_log = structlog.get_logger(__name__)


def _local_today(tenant: TenantConfig, clock: Clock) -> Callable[[], date]:
    tz = ZoneInfo(tenant.timezone)
    return lambda: clock().astimezone(tz).date()


# One builder per backend kind; each imports its adapter lazily, so a gateway that serves only
# Koha tenants never imports the SIP2 stack. Adapters get the gateway's clock (overdue days).
def _sip2(tenant: TenantConfig, clock: Clock) -> ILSBackend:
    from ils_gateway.adapters.sip2.backend import Sip2Backend

    return Sip2Backend(
        tenant.backend,  # type: ignore[arg-type]
        tz=ZoneInfo(tenant.timezone),
        today=_local_today(tenant, clock),
        now=clock,
    )


def _koha(tenant: TenantConfig, clock: Clock) -> ILSBackend:
    from ils_gateway.adapters.koha.backend import KohaBackend

    return KohaBackend(tenant.backend, today=_local_today(tenant, clock))  # type: ignore[arg-type]


def _folio(tenant: TenantConfig, clock: Clock) -> ILSBackend:
    from ils_gateway.adapters.folio.backend import FolioBackend

    return FolioBackend(tenant.backend, now=clock, timezone=tenant.timezone)  # type: ignore[arg-type]


_BACKENDS: dict[str, BackendFactory] = {"sip2": _sip2, "koha": _koha, "folio": _folio}


def resilient(
    tenant: TenantConfig, backend: ILSBackend, cache: ReadCache, seconds: EpochSeconds
) -> ILSBackend:
    """``backend`` in ``ResilientBackend`` with the tenant's timeouts, ``cache`` and clock.

    Reads are retried by the adapter alone (the SIP2 pool once on a fresh connection, the REST
    clients ``read_attempts`` times), not again here: one layer's retries never multiply
    another's, and all of them share the request's deadline.
    """
    timeouts = getattr(tenant.backend, "timeouts", None)
    if timeouts is None:
        return ResilientBackend(
            backend, tenant_id=tenant.id, cache=cache, retry=ADAPTER_RETRIES, clock=seconds
        )
    return ResilientBackend(
        backend,
        tenant_id=tenant.id,
        cache=cache,
        retry=ADAPTER_RETRIES,
        timeouts=CallTimeouts.from_backend(timeouts),
        clock=seconds,
    )


# Reads are retried below the resilience layer (see ``resilient``).
ADAPTER_RETRIES = RetryPolicy(attempts=1)


def build_backend(tenant: TenantConfig, clock: Clock = system_clock) -> ILSBackend:
    """The adapter for ``tenant``'s backend kind (not yet resilient, not yet opened)."""
    builder = _BACKENDS.get(tenant.backend.kind)
    if builder is None:
        raise ValueError(
            f"tenant {tenant.id!r}: backend kind {tenant.backend.kind!r} cannot be served "
            "directly; run its simulator (ils-gateway simulate …) and point a sip2 or koha "
            "backend at it"
        )
    return builder(tenant, clock)


@dataclass
class GatewaySettings:
    """Everything ``create_app`` needs: tenants, limits, and the seams tests replace."""

    tenants: TenantRegistry
    clock: Clock = system_clock
    backend_factory: BackendFactory = build_backend
    wrap_backend: BackendWrapper | None = resilient
    client_max_size: int = 64 * 1024
    kiosk_header: str = "X-Kiosk-Key"
    json_logs: bool | None = None
    # Sessions, Idempotency-Keys and the read cache in Redis (many processes); memory if None.
    redis_url: str | None = None
    redis_prefix: str = "ilsgw:"
    # The gateway store (basket, sequences, shelves, reading history…); None: those are off.
    store: StoreSettings | None = None
    # Resources started before the gateway (embedded simulators), closed after it.
    extra_cleanups: list[Callable[[], AsyncIterator[None]]] = field(default_factory=list)


@dataclass(frozen=True)
class TenantRuntime:
    """One tenant's context and services, as a request handler gets them."""

    context: TenantContext
    account: AccountService
    loans: LoanService
    holds: HoldService
    catalog: CatalogService
    mylists: MyLists | None = None

    @classmethod
    def build(cls, context: TenantContext, mylists: MyLists | None = None) -> TenantRuntime:
        """The services of ``context`` (with the list services' hooks when there is a store)."""
        hooks = ListHooks(mylists, context) if mylists is not None else None
        return cls(
            context=context,
            account=AccountService(context),
            loans=LoanService(context, hooks),
            holds=HoldService(context, hooks),
            catalog=CatalogService(context),
            mylists=mylists,
        )

    @property
    def config(self) -> TenantConfig:
        """The tenant's configuration."""
        return self.context.config


class Gateway:
    """Every tenant's runtime, by id."""

    def __init__(self, runtimes: dict[str, TenantRuntime]) -> None:
        self._runtimes = runtimes

    def tenant(self, tenant_id: str) -> TenantRuntime:
        """The runtime of ``tenant_id``; ``NotFound`` for an unknown library."""
        try:
            return self._runtimes[tenant_id]
        except KeyError:
            raise NotFound("Unknown library", operator_detail=f"tenant {tenant_id!r}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._runtimes.values())


@asynccontextmanager
async def open_gateway(
    settings: GatewaySettings, read_cache: Callable[[], ReadCache] | None = None
) -> AsyncIterator[Gateway]:
    """Build every tenant's backend and services; close the backends on exit.

    ``read_cache`` makes each tenant's read cache (shared in Redis when the app runs many
    processes); by default one in memory. Caches and breakers run on ``settings.clock``.
    """
    seconds = epoch_seconds(settings.clock)
    new_cache = read_cache or (lambda: MemoryReadCache(clock=seconds))
    async with AsyncExitStack() as stack:
        mylists = None
        if settings.store is not None:
            mylists = await stack.enter_async_context(open_mylists(settings.store, settings.clock))
        runtimes: dict[str, TenantRuntime] = {}
        starting = []
        for tenant in settings.tenants:
            backend = settings.backend_factory(tenant, settings.clock)
            stack.push_async_callback(backend.close)
            starting.append(_start(tenant, backend))
            if settings.wrap_backend is not None:
                backend = settings.wrap_backend(tenant, backend, new_cache(), seconds)
            context = TenantContext(config=tenant, backend=backend, clock=settings.clock)
            runtimes[tenant.id] = TenantRuntime.build(context, mylists)
        await asyncio.gather(*starting)
        yield Gateway(runtimes)


async def _start(tenant: TenantConfig, backend: ILSBackend) -> None:
    """Open a backend that has a ``start`` (SIP2: login, and capabilities from its 98) now.

    Best effort: a library system that is down at startup must not keep the others from being
    served; the adapter starts itself on first use later.
    """
    start = getattr(backend, "start", None)
    if start is None:
        return
    try:
        await start()
    except GatewayError as exc:
        _log.warning("backend_start_failed", tenant=tenant.id, type=exc.type_slug)
