"""The kiosk channel: a registered kiosk key plus the patron's session; features the tenant
switches off on kiosks are refused with a feature-disabled problem."""

from __future__ import annotations

from api_helpers import CARD, PASSWORD

T = "/v1/tenants/koha-demo"
KEY = "kiosk-7f3a"
KIOSK_TENANT = """
[tenants.policy.disabled_features]
kiosk = ["card_barcode", "hold_changes"]
"""


async def test_kiosk_session_needs_its_key_and_gets_fewer_features(make_client):
    client = await make_client(KIOSK_TENANT, fields=f'kiosk_keys = ["{KEY}"]')
    body = {"card_number": CARD, "password": PASSWORD}
    unknown = await client.post(f"{T}/sessions", json=body, headers={"X-Kiosk-Key": "nope"})
    assert unknown.status == 401
    response = await client.post(f"{T}/sessions", json=body, headers={"X-Kiosk-Key": KEY})
    created = await response.json()
    assert response.status == 201 and created["channel"] == "kiosk"
    auth = {"Authorization": f"Bearer {created['token']}"}
    # The session alone is not enough on the kiosk channel: the kiosk must show its key.
    bare = await client.get(f"{T}/loans", headers=auth)
    assert bare.status == 400
    kiosk = {**auth, "X-Kiosk-Key": KEY}
    assert (await client.get(f"{T}/loans", headers=kiosk)).status == 200
    card = await client.get(f"{T}/patron/card.svg", headers=kiosk)
    problem = await card.json()
    assert card.status == 403 and problem["type"].endswith("/feature-disabled")
    assert problem["feature"] == "card_barcode" and problem["channel"] == "kiosk"
    holds = (await (await client.get(f"{T}/holds", headers=kiosk)).json())["holds"]
    assert all("change_pickup" not in h["allowed_actions"] for h in holds)
    # The same patron on the web keeps every feature.
    web = await client.post(f"{T}/sessions", json=body)
    web_auth = {"Authorization": f"Bearer {(await web.json())['token']}"}
    assert (await client.get(f"{T}/patron/card.svg", headers=web_auth)).status == 200
