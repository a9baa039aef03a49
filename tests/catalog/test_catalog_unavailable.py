"""A SIP2 tenant that names no SRU server: search is unavailable (501), clearly typed."""

from __future__ import annotations

from typing import Any

from catalog_sites import example

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.simulated import simulated_settings
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants


async def test_catalog_search_unavailable_without_a_source(aiohttp_client: Any) -> None:
    registry = TenantRegistry(parse_tenants(example("saitama")).tenants)
    run = await simulated_settings(registry, clock=ManualClock(SAMPLE_NOW))
    client = await aiohttp_client(create_app(run.settings))
    for path in ("catalog/search?title=こころ", "catalog/records/1"):
        response = await client.get(f"/v1/tenants/saitama/{path}")
        assert response.status == 501
        body = await response.json()
        assert body["type"] == "https://ils-gateway.dev/problems/search-unavailable"
        assert response.headers["Content-Type"].startswith("application/problem+json")
    # the parameters are still checked first
    response = await client.get("/v1/tenants/saitama/catalog/search?page=0")
    assert response.status == 501
