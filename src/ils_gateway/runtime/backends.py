"""From a tenant's configuration to its backend: one builder per backend ``kind``.

``build_backend`` makes the adapter (not yet opened); ``resilient`` wraps it in
``ResilientBackend`` (cache, breaker, timeouts, write read-back); ``start_backend`` opens a
backend that has a ``start`` (SIP2 login and capabilities) at startup, best effort.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

import structlog

from ils_gateway.adapters.base import ILSBackend
from ils_gateway.adapters.resilience.backend import CallTimeouts, ResilientBackend
from ils_gateway.adapters.resilience.cache import ReadCache
from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.domain.errors import GatewayError
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.tenants import backends as configs
from ils_gateway.tenants.models import TenantConfig

BackendFactory = Callable[[TenantConfig, Clock], ILSBackend]
# The wrapper gets the tenant, its adapter, its read cache and the gateway's clock in epoch seconds.
BackendWrapper = Callable[[TenantConfig, ILSBackend, ReadCache, Callable[[], float]], ILSBackend]

_log = structlog.get_logger(__name__)


def _local_today(tenant: TenantConfig, clock: Clock) -> Callable[[], date]:
    tz = ZoneInfo(tenant.timezone)
    return lambda: clock().astimezone(tz).date()


# One builder per backend kind; each imports its adapter lazily, so a gateway that serves only
# Koha tenants never imports the SIP2 stack. Adapters get the gateway's clock (overdue days).
def _sip2(tenant: TenantConfig, clock: Clock) -> ILSBackend:
    from ils_gateway.adapters.sip2.backend import Sip2Backend

    config = tenant.backend
    assert isinstance(config, configs.Sip2Backend)  # build_backend picks the builder by kind
    return Sip2Backend(
        config,
        tz=ZoneInfo(tenant.timezone),
        today=_local_today(tenant, clock),
        now=clock,
        material_types=tenant.material_types,
    )


def _koha(tenant: TenantConfig, clock: Clock) -> ILSBackend:
    from ils_gateway.adapters.koha.backend import KohaBackend

    config = tenant.backend
    assert isinstance(config, configs.KohaBackend)  # build_backend picks the builder by kind
    return KohaBackend(
        config, today=_local_today(tenant, clock), material_types=tenant.material_types
    )


def _folio(tenant: TenantConfig, clock: Clock) -> ILSBackend:
    from ils_gateway.adapters.folio.backend import FolioBackend

    config = tenant.backend
    assert isinstance(config, configs.FolioBackend)  # build_backend picks the builder by kind
    return FolioBackend(
        config, now=clock, timezone=tenant.timezone, material_types=tenant.material_types
    )


_BACKENDS: dict[str, BackendFactory] = {"sip2": _sip2, "koha": _koha, "folio": _folio}


def resilient(
    tenant: TenantConfig, backend: ILSBackend, cache: ReadCache, seconds: Callable[[], float]
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


async def start_backend(tenant: TenantConfig, backend: ILSBackend) -> None:
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
