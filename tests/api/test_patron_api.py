"""The patron API end to end: gateway over HTTP → Koha adapter → Koha simulator over TCP."""

from __future__ import annotations

from api_helpers import CARD, PASSWORD, login

T = "/v1/tenants/koha-demo"


async def test_login_list_loans_renew_and_logout(client):
    auth = await login(client)
    loans = await (await client.get(f"{T}/loans", headers=auth)).json()
    assert loans["stale"] is False and loans["loans"]
    for loan in loans["loans"]:
        assert loan["renewable"] == (loan["refusal_reason"] is None)
    renewable = [loan for loan in loans["loans"] if loan["renewable"]]
    assert renewable, "the demo patron has a renewable loan"
    item_id = renewable[0]["item"]["id"]
    response = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["outcome"] == "ok" and result["loan"]["renewals_used"] == 1
    # Renewed once: the list now says why not again, and a second try is refused by rule.
    again = await client.post(f"{T}/loans/{item_id}/renewal", headers=auth)
    problem = await again.json()
    assert again.status == 422
    assert again.content_type == "application/problem+json"
    assert problem["type"].endswith("/renewal-refused")
    assert problem["reason"] == "renewal_limit"
    assert (await client.delete(f"{T}/sessions/current", headers=auth)).status == 204
    gone = await client.get(f"{T}/loans", headers=auth)
    assert gone.status == 401
    assert (await gone.json())["type"].endswith("/session-expired")


async def test_bad_card_and_bad_password_are_one_error(client):
    url = f"{T}/sessions"
    wrong_password = await client.post(url, json={"card_number": CARD, "password": "nope"})
    malformed_card = await client.post(url, json={"card_number": "12", "password": PASSWORD})
    unknown_card = await client.post(url, json={"card_number": "1999999999", "password": "x"})
    bodies = [await r.json() for r in (wrong_password, malformed_card, unknown_card)]
    assert {r.status for r in (wrong_password, malformed_card, unknown_card)} == {401}
    assert len({(b["type"], b["detail"]) for b in bodies}) == 1


async def test_blocked_card_gets_a_specific_refusal(client):
    response = await client.post(
        f"{T}/sessions", json={"card_number": "1000000003", "password": "ichiro03"}
    )
    problem = await response.json()
    assert response.status == 403
    assert problem["type"].endswith("/patron-blocked")
    assert problem["blocks"] == ["card_expired"]


async def test_holds_carry_allowed_actions_and_cancel_follows_states(client):
    auth = await login(client)
    holds = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    by_status = {h["status"]: h for h in holds}
    waiting = [h for h in holds if h["status"] == "waiting"]
    assert all({"cancel", "change_pickup"} <= set(h["allowed_actions"]) for h in waiting)
    for status in ("in_transit", "ready"):
        if status in by_status:
            assert "cancel" not in by_status[status]["allowed_actions"]
            refused = await client.delete(f"{T}/holds/{by_status[status]['id']}", headers=auth)
            assert refused.status == 422
            assert (await refused.json())["reason"] == "not_cancellable_in_state"
    # The ILS keeps the final say: a waiting hold it will not cancel is refused with its text.
    statuses = {}
    for hold in waiting:
        response = await client.delete(f"{T}/holds/{hold['id']}", headers=auth)
        statuses[hold["id"]] = response.status
        if response.status == 422:
            assert (await response.json())["backend_message"]
    cancelled = [hold_id for hold_id, status in statuses.items() if status == 204]
    assert cancelled and set(statuses.values()) <= {204, 422}
    after = (await (await client.get(f"{T}/holds", headers=auth)).json())["holds"]
    assert all(h["id"] not in cancelled or h["status"] == "cancelled" for h in after)


async def test_place_several_holds_gives_per_item_results(client):
    auth = await login(client, "1000000007", "tadashi7")
    libraries = (await (await client.get(f"{T}/libraries")).json())["libraries"]
    pickup = next(lib["code"] for lib in libraries if not lib["bookmobile_stations"])
    response = await client.post(
        f"{T}/holds",
        headers=auth,
        json={"item_ids": ["2100000010", "2100000156", "no-such-item"], "pickup_library": pickup},
    )
    assert response.status == 200, await response.text()
    results = (await response.json())["results"]
    assert [r["item_id"] for r in results] == ["2100000010", "2100000156", "no-such-item"]
    assert results[2]["outcome"] == "error" and results[2]["error_type"] == "not-found"
    assert results[1]["outcome"] == "refused"


async def test_card_barcode_is_the_patrons_card(client):
    auth = await login(client)
    response = await client.get(f"{T}/patron/card.svg", headers=auth)
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert CARD.encode() in await response.read()


TEMPORARY_GATE = """
[tenants.policy.account]
temporary_password_gate = true
temporary_password_pattern = '^\\d{10}$'
"""


async def test_temporary_password_allows_only_a_password_change(make_client):
    client = await make_client(TEMPORARY_GATE)
    response = await client.post(
        f"{T}/sessions", json={"card_number": "1000000004", "password": "4825170396"}
    )
    body = await response.json()
    assert body["password_change_required"] is True
    auth = {"Authorization": f"Bearer {body['token']}"}
    blocked = await client.get(f"{T}/loans", headers=auth)
    assert blocked.status == 403
    assert (await blocked.json())["type"].endswith("/password-change-required")
    change = await client.post(
        f"{T}/patron/password",
        headers=auth,
        json={"old_password": "4825170396", "new_password": "misaki-2025"},
    )
    # Koha changes it (POST /patrons/{patron_id}/password): the session is let through now.
    assert change.status == 204, await change.text()
    assert (await client.get(f"{T}/holds", headers=auth)).status == 200
    assert (await client.delete(f"{T}/sessions/current", headers=auth)).status == 204
    again = await client.post(
        f"{T}/sessions", json={"card_number": "1000000004", "password": "misaki-2025"}
    )
    assert again.status == 201 and (await again.json())["password_change_required"] is False
    old = await client.post(
        f"{T}/sessions", json={"card_number": "1000000004", "password": "4825170396"}
    )
    assert old.status == 401
