"""Wiring: from tenant configuration to each tenant's backend and services.

``GatewaySettings`` is what ``create_app`` takes. ``open_gateway(settings)`` (an async context
manager, used by the app's cleanup context) builds every tenant's backend by its ``kind``,
wraps it in ``ResilientBackend`` (cache, read retries, breaker, timeouts, write read-back) and
closes them all on exit, only those it opened; with ``settings.store`` it first opens the gateway
store and the list services (``services.mylists.runtime``), closed after the backends.
``Gateway`` then hands a ``TenantRuntime`` (context + services) to the API per request.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.cache import MemoryReadCache, ReadCache
from ils_gateway.domain.errors import NotFound
from ils_gateway.services.account import AccountService
from ils_gateway.services.catalog import CatalogService
from ils_gateway.services.context import Clock, TenantContext, system_clock
from ils_gateway.services.holds import HoldService
from ils_gateway.services.loans import LoanService
from ils_gateway.services.mylists.hooks import ListHooks
from ils_gateway.services.mylists.runtime import MyLists, StoreSettings, open_mylists
from ils_gateway.tenants.loader import TenantRegistry
from ils_gateway.tenants.models import TenantConfig

BackendFactory = Callable[[TenantConfig], ILSBackend]
BackendWrapper = Callable[[TenantConfig, ILSBackend, ReadCache], ILSBackend]

# backend kind -> "module:factory" building an ILSBackend from the tenant's backend config.
# Imported lazily so a gateway that serves only Koha tenants never imports the SIP2 stack.
_BACKENDS = {
    "sip2": "ils_gateway.adapters.sip2:Sip2Backend",
    "koha": "ils_gateway.adapters.koha.backend:KohaBackend",
    "folio": "ils_gateway.adapters.folio.backend:FolioBackend",
}


def resilient(tenant: TenantConfig, backend: ILSBackend, cache: ReadCache) -> ILSBackend:
    """``backend`` wrapped in ``ResilientBackend`` with the tenant's timeouts and ``cache``."""
    timeouts = getattr(tenant.backend, "timeouts", None)
    if timeouts is None:
        return ResilientBackend(backend, tenant_id=tenant.id, cache=cache)
    return ResilientBackend(
        backend, tenant_id=tenant.id, cache=cache, timeouts=CallTimeouts.from_backend(timeouts)
    )


def build_backend(tenant: TenantConfig) -> ILSBackend:
    """The adapter for ``tenant``'s backend kind (not yet resilient, not yet opened)."""
    target = _BACKENDS.get(tenant.backend.kind)
    if target is None:
        raise ValueError(
            f"tenant {tenant.id!r}: backend kind {tenant.backend.kind!r} cannot be served "
            "directly; run its simulator (ils-gateway simulate …) and point a sip2 or koha "
            "backend at it"
        )
    module_name, _, name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), name)
    return factory(tenant.backend)


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
    settings: GatewaySettings, read_cache: Callable[[], ReadCache] = MemoryReadCache
) -> AsyncIterator[Gateway]:
    """Build every tenant's backend and services; close the backends on exit.

    ``read_cache`` makes each tenant's read cache (shared in Redis when the app runs many
    processes).
    """
    async with AsyncExitStack() as stack:
        mylists = None
        if settings.store is not None:
            mylists = await stack.enter_async_context(open_mylists(settings.store, settings.clock))
        runtimes: dict[str, TenantRuntime] = {}
        for tenant in settings.tenants:
            backend = settings.backend_factory(tenant)
            stack.push_async_callback(backend.close)
            if settings.wrap_backend is not None:
                backend = settings.wrap_backend(tenant, backend, read_cache())
            context = TenantContext(config=tenant, backend=backend, clock=settings.clock)
            runtimes[tenant.id] = TenantRuntime.build(context, mylists)
        yield Gateway(runtimes)
