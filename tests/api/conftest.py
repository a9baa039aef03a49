"""The API over real HTTP, against the Koha REST simulator on real TCP (127.0.0.1, port 0).

The gateway's clock and the simulated library's clock are the same ``ManualClock``, so rules
that depend on the day or hour are tested by moving it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from api_helpers import tenant_toml

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.koha_cli import start_koha_simulator
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import SAMPLE_NOW, sample_library
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants
from sealed_state import TEST_SECRET


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SAMPLE_NOW)


@pytest.fixture
def library(clock: ManualClock) -> SimulatedLibrary:
    return sample_library(clock=clock)


@pytest.fixture
async def koha_url(library: SimulatedLibrary) -> AsyncIterator[str]:
    runner, url = await start_koha_simulator(library, port=0)
    try:
        yield url
    finally:
        await runner.cleanup()


@pytest.fixture
def make_client(aiohttp_client, koha_url: str, clock: ManualClock) -> Callable:
    async def make(extra: str = "", fields: str = "", **settings: object):
        if "redis_url" in settings:  # no store here: the server secret is given directly
            settings.setdefault("secret", TEST_SECRET)
        registry = TenantRegistry(parse_tenants(tenant_toml(koha_url, extra, fields)).tenants)
        app = create_app(GatewaySettings(tenants=registry, clock=clock, **settings))
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client):
    return await make_client()
