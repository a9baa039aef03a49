"""The example tenant file for a library on FOLIO loads and drives the adapter."""

from __future__ import annotations

from pathlib import Path

import httpx
import respx
from folio_fake import PATRON_ID, Answer, FakeFolio

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.folio.backend import FolioBackend
from ils_gateway.adapters.folio.config import FolioBackendConfig
from ils_gateway.domain.models import Patron
from ils_gateway.tenants.loader import load_tenants

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tenants" / "folio-example.toml"


async def test_folio_example_tenant_builds_a_folio_backend() -> None:
    (tenant,) = list(load_tenants(EXAMPLE))
    config = tenant.backend
    assert isinstance(config, FolioBackendConfig)
    assert "change-me" not in repr(config)
    with respx.mock(base_url=config.okapi_url, assert_all_called=False) as router:
        fake = FakeFolio(router, tenant=config.tenant)
        router.post(config.login_path).mock(
            return_value=httpx.Response(
                201, headers={"set-cookie": "folioAccessToken=t1; HttpOnly"}, json={}
            )
        )
        fake.on("GET", "/circulation/loans", Answer(json={"loans": [], "totalRecords": 0}))
        backend = FolioBackend(config, timezone=tenant.timezone)
        try:
            assert backend.capabilities.option(Capability.PLACE_HOLD, "folio_request_level") == (
                "Title"
            )
            assert await backend.list_loans(Patron(id=PATRON_ID, card_number="1")) == []
        finally:
            await backend.close()
    assert fake.violations == []
    assert fake.seen[0].headers["x-okapi-token"] == "t1"
