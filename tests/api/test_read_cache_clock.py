"""The read cache through the API runs on the gateway's injected clock, not on wall time.

The Koha simulator sits behind the fault proxy (passing everything), which counts the requests
that reach the library system; the gateway uses its default resilient wrapper and read cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from api_helpers import login, tenant_toml
from fault_proxy import FaultProxy, start_fault_proxy

from ils_gateway.adapters.resilience.backend import CachePolicy
from ils_gateway.api.app import create_app
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

T = "/v1/tenants/koha-demo"
PATRON_FRESH_FOR = CachePolicy().patron_fresh_for


@pytest.fixture
async def proxy(koha_url: str) -> AsyncIterator[FaultProxy]:
    proxy = await start_fault_proxy(koha_url)
    try:
        yield proxy
    finally:
        await proxy.runner.cleanup()


async def test_cached_loans_go_back_to_the_backend_when_the_injected_clock_passes_freshness(
    aiohttp_client, proxy, clock
):
    registry = TenantRegistry(parse_tenants(tenant_toml(proxy.url)).tenants)
    client = await aiohttp_client(create_app(GatewaySettings(tenants=registry, clock=clock)))
    auth = await login(client)
    first = await client.get(f"{T}/loans", headers=auth)
    assert first.status == 200
    after_first = len(proxy.seen)

    clock.advance(seconds=PATRON_FRESH_FOR - 1)
    cached = await client.get(f"{T}/loans", headers=auth)
    assert cached.status == 200
    assert len(proxy.seen) == after_first, f"served from cache, yet reached: {proxy.seen}"
    assert (await cached.json())["loans"] == (await first.json())["loans"]

    clock.advance(seconds=2)  # past the freshness window on the gateway's clock only
    again = await client.get(f"{T}/loans", headers=auth)
    assert again.status == 200
    assert (await again.json())["stale"] is False
    went_back = proxy.seen[after_first:]
    assert any("checkouts" in line for line in went_back), f"backend not asked again: {went_back}"
