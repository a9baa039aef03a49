"""The embedded default (``ils-gateway serve`` with no arguments): the demo tenant over the SIP2
adapter, against the SIP2 simulator started in-process on real TCP."""

from __future__ import annotations

import pytest

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import RunningClock, embedded_settings
from ils_gateway.simulators.sample_data import DEMO_PATRONS, SAMPLE_NOW

T = "/v1/tenants/demo"


@pytest.fixture
async def embedded(aiohttp_client):
    settings, acs = await embedded_settings(clock=ManualClock(SAMPLE_NOW))
    client = await aiohttp_client(create_app(settings))
    return client, acs.library


async def _login(client, card: str = "1000000001", password: str = "hanako01") -> dict:
    response = await client.post(f"{T}/sessions", json={"card_number": card, "password": password})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_demo_session_over_sip2(embedded):
    client, library = embedded
    assert (await (await client.get("/readyz")).json())["tenants"] == {"demo": "ok"}
    # Saitama-style card normalisation: hyphens and spaces are stripped.
    auth = await _login(client, "1000-000-001")
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    assert {loan["item"]["id"] for loan in loans} == {
        loan.barcode for loan in library.loans("1000000001")
    }
    item_id = next(loan["item"]["id"] for loan in loans if loan["renewable"])
    renewed = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert renewed.status == 200, await renewed.text()
    assert [loan.renewals for loan in library.loans("1000000001") if loan.barcode == item_id] == [1]
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    assert {h["status"] for h in holds} >= {"waiting", "in_transit", "ready"}
    assert all("cancel" not in h["allowed_actions"] for h in holds if h["status"] == "ready")


async def test_demo_cancel_of_a_waiting_hold_over_sip2(embedded):
    client, _library = embedded
    auth = await _login(client)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    waiting = next(h for h in holds if h["status"] == "waiting")
    assert "cancel" in waiting["allowed_actions"]
    cancelled = await client.delete(f"{T}/holds/{waiting['id']}", headers=auth)
    assert cancelled.status == 204, await cancelled.text()
    after = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    assert waiting["id"] not in {h["id"] for h in after if h["status"] != "cancelled"}


async def test_demo_pickup_libraries_come_from_the_tenant_and_holds_can_be_placed(embedded):
    client, library = embedded
    libraries = (await (await client.get(f"{T}/libraries")).json())["libraries"]
    assert {lib["code"] for lib in libraries} >= {"CEN", "KITA", "BM"}
    assert {p.code for p in library.pickup_locations()} >= {
        s["code"] for lib in libraries for s in lib["bookmobile_stations"]
    }
    patron = DEMO_PATRONS[0]
    auth = await _login(client, patron.card_number, patron.password)
    held = {h.biblio_id for h in library.holds(patron.card_number)}
    borrowed = {loan.biblio_id for loan in library.loans(patron.card_number)}
    barcode = next(
        copies[0].barcode
        for biblio in library.biblios()
        if biblio.id not in held | borrowed
        and (copies := library.items_of(biblio.id))
        and all(c.holdable and not c.not_for_loan for c in copies)
    )
    response = await client.post(
        f"{T}/holds", headers=auth, json={"item_ids": [barcode], "pickup_library": "KITA"}
    )
    assert response.status == 200, await response.text()
    result = (await response.json())["results"][0]
    assert result["outcome"] == "ok", result
    assert any(h.pickup == "KITA" for h in library.holds(patron.card_number))


def test_running_clock_starts_at_the_sample_instant_and_moves_forward():
    clock = RunningClock(SAMPLE_NOW)
    first, second = clock(), clock()
    assert SAMPLE_NOW <= first <= second


async def test_demo_flags_its_temporary_password_patron(embedded):
    """1000000004 is on a temporary password in the demo library: the session may only change
    it, and SIP2 cannot, so the gate names the library's page (issue 16)."""
    client, _library = embedded
    response = await client.post(
        f"{T}/sessions", json={"card_number": "1000000004", "password": "4825170396"}
    )
    body = await response.json()
    assert response.status == 201 and body["password_change_required"] is True
    assert body["password_change_url"].startswith("https://")
    auth = {"Authorization": f"Bearer {body['token']}"}
    gated = await client.get(f"{T}/loans", headers=auth)
    problem = await gated.json()
    assert gated.status == 403 and problem["change_url"] == body["password_change_url"]


async def test_demo_batch_refusals_carry_the_reason_in_the_librarys_words(embedded):
    client, _library = embedded
    auth = await _login(client)
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    borrowed = loans[0]["item"]["id"]  # a hold on a copy the patron is borrowing
    response = await client.post(
        f"{T}/holds",
        headers={**auth, "Accept-Language": "ja"},
        json={"item_ids": [borrowed], "pickup_library": "CEN"},
    )
    body = await response.json()
    refused = [r for r in body["results"] if r["outcome"] == "refused"]
    assert refused, body
    assert all(r["reason_label"] and not r["reason_label"].isascii() for r in refused)
