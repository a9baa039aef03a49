"""GET …/catalog/search through each backend kind (SRU for SIP2, Koha, FOLIO) on the simulators."""

from __future__ import annotations

import pytest
from conftest import TENANTS, Sites


@pytest.mark.parametrize("kind", ["sip2", "koha", "folio"])
async def test_catalog_search_by_title_finds_the_record_with_availability(
    sites: Sites, kind: str
) -> None:
    tenant = TENANTS[kind]
    body = await sites.get(f"/v1/tenants/{tenant}/catalog/search?title=こころ")
    assert body["total"] >= 1
    record = next(r for r in body["records"] if r["title"] == "こころ")
    assert record["authors"] == ["夏目漱石"]
    assert record["publisher"] == "岩波書店"
    assert record["year"] == 1989
    assert record["material_type"] == "book"
    summary = record["availability"]
    assert summary["total"] >= 3 and 0 <= summary["available"] <= summary["total"]
    assert body["cached"] is False
    again = await sites.get(f"/v1/tenants/{tenant}/catalog/search?title=こころ")
    assert again["cached"] is True and again["records"] == body["records"]
