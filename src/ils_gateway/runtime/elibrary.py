"""Opening a tenant's e-library: the KinoDen adapter, or the simulator started in-process.

``[tenants.elibrary] kind = "simulator"`` starts the simulated e-library on 127.0.0.1 (a free
port) with a fresh client secret, on the gateway's clock, and talks to it through the same
KinoDen adapter a real e-library gets, so the demo and the tests exercise the real HTTP path.
The simulator is imported only when a tenant asks for it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from ils_gateway.domain.clock import Clock
from ils_gateway.domain.retry import RetryPolicy
from ils_gateway.elibrary.base import ElibraryBackend
from ils_gateway.elibrary.client import DEFAULT_RETRY
from ils_gateway.elibrary.kinoden import KinodenBackend
from ils_gateway.tenants.backends import KinodenElibrary, SimulatorElibrary
from ils_gateway.tenants.models import TenantConfig


@asynccontextmanager
async def open_elibrary(
    tenant: TenantConfig, clock: Clock, *, retry: RetryPolicy = DEFAULT_RETRY
) -> AsyncIterator[ElibraryBackend | None]:
    """The tenant's e-library (None without one); closed and any simulator stopped on exit."""
    config = tenant.elibrary
    if config is None:
        yield None
        return
    if isinstance(config, KinodenElibrary):
        kinoden = KinodenBackend.from_config(config, retry=retry)
        try:
            yield kinoden
        finally:
            await kinoden.aclose()
        return
    async with _simulated(config, clock, retry) as backend:
        yield backend


@asynccontextmanager
async def _simulated(
    config: SimulatorElibrary, clock: Clock, retry: RetryPolicy
) -> AsyncIterator[ElibraryBackend]:
    from ils_gateway.simulators.elibrary import ElibrarySimulatorConfig, start_elibrary_simulator

    secret = secrets.token_urlsafe(24)
    simulated = ElibrarySimulatorConfig(client_id="ils-gateway", client_secret=secret)
    runner, url = await start_elibrary_simulator(simulated, clock, host="127.0.0.1", port=0)
    try:
        kinoden = KinodenElibrary(
            kind="kinoden",
            base_url=url,
            client_id=simulated.client_id,
            client_secret=SecretStr(secret),
            bridge_keys=config.bridge_keys,
        )
        backend = KinodenBackend.from_config(kinoden, retry=retry)
        try:
            yield backend
        finally:
            await backend.aclose()
    finally:
        await runner.cleanup()
