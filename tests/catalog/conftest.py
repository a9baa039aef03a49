"""``sites``: the gateway over three example tenants on their simulators (see catalog_sites)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from catalog_sites import SRU_TABLE, Sites, example

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.simulated import simulated_settings
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants


@pytest.fixture
def open_sites(aiohttp_client: Any) -> Callable[..., Awaitable[Sites]]:
    """``await open_sites("sip2", "koha")``: the gateway over those kinds' example tenants."""

    async def start(*kinds: str) -> Sites:
        texts = {
            "sip2": example("saitama", SRU_TABLE),
            "koha": example("koha-demo"),
            "folio": example("folio-example"),
        }
        chosen = kinds or tuple(texts)
        tenants = [t for kind in chosen for t in parse_tenants(texts[kind]).tenants]
        run = await simulated_settings(TenantRegistry(tenants), clock=ManualClock(SAMPLE_NOW))
        return Sites(await aiohttp_client(create_app(run.settings)), run)

    return start
