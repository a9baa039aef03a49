"""GET …/catalog/records/{id}: copies as the library system reports them, per backend kind."""

from __future__ import annotations

from datetime import date

import pytest
from catalog_sites import TENANTS, Opener, Sites

# The library's own statuses (simulators.records.ItemStatus) and the catalogue's.
EXPECTED = {
    "available": "available",
    "checked_out": "on_loan",
    "on_order": "on_order",
    "in_transit": "in_transit",
    "hold_shelf": "on_hold_shelf",
    "lost": "missing",
    "missing": "missing",
}


async def _record_id(sites: Sites, tenant: str, title: str) -> str:
    body = await sites.get(f"/v1/tenants/{tenant}/catalog/search?title={title}")
    return next(r["id"] for r in body["records"] if r["title"] == title)


@pytest.mark.parametrize("kind", ["sip2", "koha", "folio"])
async def test_catalog_record_copies_agree_with_the_library(open_sites: Opener, kind: str) -> None:
    sites = await open_sites(kind)
    tenant = TENANTS[kind]
    library = sites.library(tenant)
    record_id = await _record_id(sites, tenant, "こころ")
    body = await sites.get(f"/v1/tenants/{tenant}/catalog/records/{record_id}")
    biblio = next(b for b in library.biblios() if b.title == "こころ")
    barcodes = sorted(i.barcode for i in library.data.items if i.biblio_id == biblio.id)
    assert sorted(c["barcode"] for c in body["copies"]) == barcodes
    for copy in body["copies"]:
        info = library.item_info(copy["barcode"])
        if info.on_hold_shelf:
            assert copy["status"] == "on_hold_shelf"
        elif info.status in EXPECTED:
            assert copy["status"] == EXPECTED[info.status], copy
        assert copy["status_label"]
        if copy["status"] == "on_loan":
            assert date.fromisoformat(copy["due_date"]) == info.due
        else:
            assert copy["due_date"] is None
        assert copy["call_number"] == info.call_number
        assert copy["hold_queue_length"] == info.hold_queue_length
    summary = body["record"]["availability"]
    assert summary["total"] == len(barcodes)
    assert summary["available"] == sum(c["status"] == "available" for c in body["copies"])
    assert body["holdable"] is True and body["not_holdable_reason"] is None
    assert body["pickup_libraries"]


@pytest.mark.parametrize("kind", ["sip2", "koha", "folio"])
async def test_catalog_record_of_reference_work_is_not_holdable(
    open_sites: Opener, kind: str
) -> None:
    sites = await open_sites(kind)
    tenant = TENANTS[kind]
    record_id = await _record_id(sites, tenant, "広辞苑 第七版")
    body = await sites.get(f"/v1/tenants/{tenant}/catalog/records/{record_id}")
    assert body["copies"] and all(c["reference_only"] for c in body["copies"])
    assert {c["status"] for c in body["copies"]} <= {"reference_only", "on_loan", "missing"}
    assert body["holdable"] is False
    assert body["not_holdable_reason"] == "non_circulating"
    assert body["pickup_libraries"] == []


@pytest.mark.parametrize("kind", ["sip2", "koha", "folio"])
async def test_catalog_unknown_record_is_404(open_sites: Opener, kind: str) -> None:
    sites = await open_sites(kind)
    tenant = TENANTS[kind]
    missing = "00000000-0000-4000-8000-000000000000" if kind == "folio" else "99999"
    await sites.get(f"/v1/tenants/{tenant}/catalog/records/{missing}", status=404)


@pytest.mark.parametrize("kind", ["sip2", "koha", "folio"])
async def test_catalog_search_summary_agrees_with_the_record_view(
    open_sites: Opener, kind: str
) -> None:
    sites = await open_sites(kind)
    tenant = TENANTS[kind]
    found = await sites.get(f"/v1/tenants/{tenant}/catalog/search?author=夏目漱石&per_page=10")
    for record in found["records"]:
        detail = await sites.get(f"/v1/tenants/{tenant}/catalog/records/{record['id']}")
        assert record["availability"] == detail["record"]["availability"], record["title"]
