"""Nishinomiya (SIP2 in Shift_JIS): a hold can be cancelled while waiting or in transit (取消 is
hidden only for 手配済・検討中・準備中・提供可能), not once it is being prepared;
loans others wait for are not renewable; the card barcode is NW-7 (Codabar)."""

from __future__ import annotations

from ils_gateway.simulators.policy import HoldState

PATRON = ("1000000001", "hanako01")


# Nishinomiya's library system cancels a hold in transit too (as the page says it may).
NISHINOMIYA_ILS = {"cancellable_states": (HoldState.PENDING, HoldState.TRANSIT)}


async def test_a_hold_in_transit_can_be_cancelled(open_site):
    site = await open_site("nishinomiya", rules=NISHINOMIYA_ILS)
    auth = await site.login(*PATRON)
    holds = (await site.get("/holds", auth))["holds"]
    in_transit = next(h for h in holds if h["status"] == "in_transit")
    assert "cancel" in in_transit["allowed_actions"]
    cancelled = await site.client.delete(f"{site.base}/holds/{in_transit['id']}", headers=auth)
    assert cancelled.status == 204, await cancelled.text()
    states = {h.barcode: h.state for h in site.library.holds("1000000001")}
    assert in_transit["id"] not in states  # closed: no longer among the open holds


async def test_cancel_refused_once_being_prepared(open_site):
    site = await open_site("nishinomiya", rules=NISHINOMIYA_ILS)
    auth = await site.login(*PATRON)
    holds = (await site.get("/holds", auth))["holds"]
    preparing = next(h for h in holds if h["status"] == "preparing")
    assert "cancel" not in preparing["allowed_actions"]
    refused = await site.client.delete(f"{site.base}/holds/{preparing['id']}", headers=auth)
    problem = await refused.json()
    assert refused.status == 422
    assert problem["type"].endswith("/cancel-refused")
    assert problem["reason"] == "not_cancellable_in_state"
    states = {h.barcode: h.state for h in site.library.holds("1000000001")}
    assert states[preparing["id"]] is HoldState.PROCESSING


async def test_waiting_hold_can_be_cancelled(open_site):
    site = await open_site("nishinomiya")
    auth = await site.login(*PATRON)
    holds = (await site.get("/holds", auth))["holds"]
    waiting = next(h for h in holds if h["status"] == "waiting")
    assert "cancel" in waiting["allowed_actions"]
    cancelled = await site.client.delete(f"{site.base}/holds/{waiting['id']}", headers=auth)
    assert cancelled.status == 204, await cancelled.text()
    after = (await site.get("/holds", auth))["holds"]
    assert waiting["id"] not in {h["id"] for h in after if h["status"] == "waiting"}


async def test_loans_with_holds_are_not_renewable_and_japanese_passes_shift_jis(open_site):
    site = await open_site("nishinomiya")
    auth = await site.login(*PATRON)
    loans = (await site.get("/loans", auth))["loans"]
    wanted = next(loan for loan in loans if loan["item"]["id"] == "2100000166")
    assert wanted["item"]["title"] == "星降る町の図書館 1"
    assert wanted["renewable"] is False and wanted["refusal_reason"] == "has_holds"
    response = await site.client.post(f"{site.base}/loans/2100000166/renewal", headers=auth)
    assert response.status == 422 and (await response.json())["reason"] == "has_holds"


async def test_card_barcode_is_codabar(open_site):
    site = await open_site("nishinomiya")
    auth = await site.login(*PATRON)
    response = await site.client.get(f"{site.base}/patron/card.svg", headers=auth)
    assert response.status == 200 and response.content_type == "image/svg+xml"
    svg = await response.text()
    assert "<svg" in svg and "1000000001" in svg
