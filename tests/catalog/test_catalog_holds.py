"""POST …/catalog/records/{id}/holds: a title hold (Koha, FOLIO) or a picked copy (SIP2)."""

from __future__ import annotations

import pytest
from catalog_sites import TENANTS, Opener, Sites

from ils_gateway.domain.catalog import Copy
from ils_gateway.domain.vocab import CopyStatus
from ils_gateway.services.catalog import pick_copy


async def _login(sites: Sites, tenant: str) -> dict[str, str]:
    card, password = sites.login(tenant)
    response = await sites.client.post(
        f"/v1/tenants/{tenant}/sessions", json={"card_number": card, "password": password}
    )
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


@pytest.mark.parametrize("kind", ["sip2", "koha", "folio"])
async def test_catalog_hold_from_a_record(open_sites: Opener, kind: str) -> None:
    sites = await open_sites(kind)
    tenant = TENANTS[kind]
    base = f"/v1/tenants/{tenant}"
    auth = await _login(sites, tenant)
    held = (await sites.get(f"{base}/holds", **auth))["holds"]
    before = {h["id"] for h in held}
    title = next(
        t for t in ("走れメロス", "雪国", "檸檬") if t not in {h["item"]["title"] for h in held}
    )
    found = await sites.get(f"{base}/catalog/search?title={title}")
    record_id = next(r["id"] for r in found["records"] if r["title"] == title)
    detail = await sites.get(f"{base}/catalog/records/{record_id}")
    assert detail["holdable"] is True
    pickup = detail["pickup_libraries"][0]["code"]
    response = await sites.client.post(
        f"{base}/catalog/records/{record_id}/holds", json={"pickup_library": pickup}, headers=auth
    )
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["outcome"] == "ok", result
    holds = (await sites.get(f"{base}/holds", **auth))["holds"]
    placed = [h for h in holds if h["id"] not in before]
    assert [h["item"]["title"] for h in placed] == [title]
    if kind != "sip2":
        assert placed[0]["title_level"] is True


async def test_catalog_hold_needs_a_session_and_a_pickup_library(open_sites: Opener) -> None:
    sites = await open_sites("koha")
    base = "/v1/tenants/koha-demo/catalog/records/1/holds"
    response = await sites.client.post(base, json={"pickup_library": "CEN"})
    assert response.status == 401
    auth = await _login(sites, "koha-demo")
    response = await sites.client.post(base, json={}, headers=auth)
    assert response.status == 400
    assert "pickup_library" in (await response.json())["detail"]


async def test_catalog_hold_on_a_reference_work_is_refused(open_sites: Opener) -> None:
    sites = await open_sites("koha")
    base = "/v1/tenants/koha-demo"
    found = await sites.get(f"{base}/catalog/search?title=広辞苑")
    auth = await _login(sites, "koha-demo")
    response = await sites.client.post(
        f"{base}/catalog/records/{found['records'][0]['id']}/holds",
        json={"pickup_library": "CEN"},
        headers=auth,
    )
    assert response.status == 422, await response.text()
    assert (await response.json())["reason"] == "non_circulating"


def _copy(barcode: str, status: CopyStatus, **fields: object) -> Copy:
    return Copy.model_validate({"barcode": barcode, "status": status, **fields})


def test_catalog_pick_copy_prefers_the_copy_coming_back_first() -> None:
    copies = [
        _copy("A", CopyStatus.REFERENCE_ONLY, branch="CEN"),
        _copy("B", CopyStatus.ON_LOAN, due_date="2025-06-20", hold_queue_length=1),
        _copy("C", CopyStatus.ON_LOAN, due_date="2025-06-10", hold_queue_length=1),
        _copy("D", CopyStatus.ON_LOAN, due_date="2025-06-05", hold_queue_length=2),
    ]
    assert pick_copy(copies, "CEN") == copies[2]
    on_shelf = [_copy("E", CopyStatus.AVAILABLE, branch="KITA"),
                _copy("F", CopyStatus.AVAILABLE, branch="CEN")]  # fmt: skip
    assert pick_copy(on_shelf, "CEN") == on_shelf[1]
    assert pick_copy(on_shelf, "EKI") == on_shelf[0]
    assert pick_copy([copies[0], _copy("G", CopyStatus.MISSING)], "CEN") is None
