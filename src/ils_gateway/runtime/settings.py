"""``GatewaySettings``: everything the runtime is built from, as one frozen value."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ils_gateway.domain.clock import Clock, system_clock
from ils_gateway.runtime.backends import BackendFactory, BackendWrapper, build_backend, resilient
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.tenants.loader import TenantRegistry

# A resource started before the gateway and stopped after it (an embedded simulator).
Resource = Callable[[], AsyncIterator[None]]


@dataclass(frozen=True)
class GatewaySettings:
    """Tenants, limits, shared state and store, and the seams tests replace.

    Frozen: derive a changed copy with ``dataclasses.replace``.
    """

    tenants: TenantRegistry
    clock: Clock = system_clock
    backend_factory: BackendFactory = build_backend
    wrap_backend: BackendWrapper | None = resilient
    client_max_size: int = 64 * 1024
    kiosk_header: str = "X-Kiosk-Key"
    json_logs: bool | None = None
    # Sessions, Idempotency-Keys, read caches and rate limits in Redis (many processes): one
    # client per process. In memory when None.
    redis_url: str | None = None
    redis_prefix: str = "ilsgw:"
    # The gateway store (basket, sequences, shelves, reading history…); None: those are off.
    store: StoreSettings | None = None
    # Resources started before the gateway (embedded simulators), closed after it.
    extra_cleanups: tuple[Resource, ...] = ()
