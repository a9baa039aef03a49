"""The example tenant file for a library on Koha loads and drives the adapter."""

from __future__ import annotations

from pathlib import Path

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.koha.backend import KohaBackend
from ils_gateway.adapters.koha.config import KohaBackendConfig, item_types
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.tenants.loader import load_tenants

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tenants" / "koha-demo.toml"


async def test_koha_demo_tenant_builds_a_koha_backend() -> None:
    (tenant,) = list(load_tenants(EXAMPLE))
    config = tenant.backend
    assert isinstance(config, KohaBackendConfig)
    assert "koha-demo-secret" not in repr(config)
    assert item_types(config)["EHON"] is MaterialType.PICTURE_BOOK
    assert item_types(config)["BK"] is MaterialType.BOOK
    backend = KohaBackend(config)
    try:
        assert backend.capabilities.option(Capability.PLACE_HOLD, "title_level") is True
        assert backend.capabilities.option(Capability.CANCEL_HOLD, "cancellation_request") is False
    finally:
        await backend.close()
