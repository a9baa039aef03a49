"""Writes through the API: renew several, change a hold, the maintenance window (injected clock)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api_helpers import CARD, login

T = "/v1/tenants/koha-demo"
TOKYO = ZoneInfo("Asia/Tokyo")
MAINTENANCE = (
    "[tenants.policy]\n"
    'maintenance = { start = 03:50:00, end = 04:20:00, timezone = "Asia/Tokyo" }\n'
)


async def test_renew_several_gives_one_result_per_item_in_order(client, library):
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    renewable = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    refused = next((loan for loan in loans if not loan["renewable"]), None)
    ids = [renewable, "no-such-loan"] + ([refused["item"]["id"]] if refused else [])
    response = await client.post(f"{T}/loans/renewals", headers=auth, json={"item_ids": ids})
    assert response.status == 200, await response.text()
    results = (await response.json())["results"]
    assert [r["item_id"] for r in results] == ids
    assert results[0]["outcome"] == "ok" and results[0]["loan"]["renewals_used"] == 1
    assert results[1]["outcome"] == "error" and results[1]["error_type"] == "not-found"
    if refused:
        assert results[2]["outcome"] == "refused"
        assert results[2]["reason"] == refused["refusal_reason"]
    assert [loan.renewals for loan in library.loans(CARD) if loan.barcode == renewable] == [1]


async def test_change_hold_pickup_library(client, library):
    auth = await login(client)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    hold = next(h for h in holds if "change_pickup" in h["allowed_actions"])
    libraries = (await (await client.get(f"{T}/libraries")).json())["libraries"]
    other = next(
        lib["code"]
        for lib in libraries
        if lib["code"] != hold["pickup_library"] and not lib["bookmobile_stations"]
    )
    response = await client.patch(
        f"{T}/holds/{hold['id']}", headers=auth, json={"pickup_library": other}
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["pickup_library"] == other
    assert library.hold_by_id(int(hold["id"])).pickup == other
    listed = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    assert next(h for h in listed if h["id"] == hold["id"])["pickup_library"] == other
    empty = await client.patch(f"{T}/holds/{hold['id']}", headers=auth, json={})
    assert empty.status == 400


async def test_change_hold_refused_where_the_state_forbids_it(client):
    auth = await login(client)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    fixed = next(h for h in holds if "change_pickup" not in h["allowed_actions"])
    response = await client.patch(
        f"{T}/holds/{fixed['id']}", headers=auth, json={"pickup_library": "CEN"}
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"


async def test_maintenance_window_refuses_writes_and_serves_reads(make_client, clock):
    client = await make_client(MAINTENANCE)
    clock.now = datetime(2025, 6, 3, 3, 40, tzinfo=TOKYO)
    auth = await login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    item_id = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    clock.now = datetime(2025, 6, 3, 3, 55, tzinfo=TOKYO)
    read = await client.get(f"{T}/loans", headers=auth)
    assert read.status == 200
    paused = await client.post(
        f"{T}/loans/{item_id}/renewal", headers={**auth, "Accept-Language": "en"}
    )
    problem = await paused.json()
    assert paused.status == 503
    assert problem["type"].endswith("/maintenance")
    assert problem["detail"] == "Service paused until 04:20"
    assert paused.headers["Retry-After"] == str(25 * 60)
    holds = await client.post(
        f"{T}/holds", headers=auth, json={"item_ids": ["2100000010"], "pickup_library": "CEN"}
    )
    assert holds.status == 503
    clock.now = datetime(2025, 6, 3, 4, 20, tzinfo=TOKYO)
    resumed = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert resumed.status == 200, await resumed.text()
