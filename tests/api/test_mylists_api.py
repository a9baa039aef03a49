"""My lists over HTTP: basket, hold sequences, skip/extension, cancelled holds, shelves, settings.

Gateway app (aiohttp test client) → Koha adapter → Koha simulator on 127.0.0.1, with the gateway
store on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "services" / "mylists"))

import mylists_api_support as support
from mylists_api_support import KIOSK_KEY, OTHER_CARD, OTHER_PASSWORD, T, login

from ils_gateway.api.routes import LIST_ROUTES
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.simulators.library import Operation
from ils_gateway.simulators.policy import HoldState

globals().update(support.FIXTURES)


async def _json(response) -> dict:
    return await response.json()


async def _place(gw, auth: dict, *barcodes: str) -> list[str]:
    response = await gw.post(
        f"{T}/holds", json={"item_ids": list(barcodes), "pickup_library": "CEN"}, headers=auth
    )
    assert response.status == 200, await response.text()
    results = (await response.json())["results"]
    assert [r["outcome"] for r in results] == ["ok"] * len(barcodes)
    return [r["hold"]["id"] for r in results]


async def test_openapi_documents_every_list_route_behind_the_session(gw) -> None:
    document = await _json(await gw.get("/openapi.json"))
    for route in LIST_ROUTES:
        operation = document["paths"][f"/v1/tenants/{{tenant}}{route.path}"]
        op = operation[route.method.lower()]
        assert op["operationId"] == route.name
        assert op["security"], route.name
        # Without a session every one of them is a 401 problem, not a 404 or a 500.
        path = T + route.path.replace("{", "").replace("}", "")
        response = await gw.request(route.method, path)
        assert response.status == 401, (route.method, path)
    paths = " ".join(document["paths"])
    assert "staff" not in paths and "admin" not in paths
    assert "BasketView" in document["components"]["schemas"]


async def test_basket_limit_confirm_and_per_item_results(gw, sim) -> None:
    auth = await login(gw)
    for barcode in ("2000101", "2000104", "2000105"):
        response = await gw.post(f"{T}/basket/items", json={"item_id": barcode}, headers=auth)
        assert response.status == 201, await response.text()
    again = await gw.post(f"{T}/basket/items", json={"item_id": "2000105"}, headers=auth)
    assert again.status == 200 and (await again.json())["added"] is False
    full = await gw.post(f"{T}/basket/items", json={"item_id": "2000102"}, headers=auth)
    problem = await full.json()
    assert full.status == 422 and problem["type"].endswith("/list-limit-reached")
    assert (problem["list"], problem["limit"]) == ("basket", 3)
    basket = await _json(await gw.get(f"{T}/basket", headers=auth))
    assert [i["item_id"] for i in basket["items"]] == ["2000101", "2000104", "2000105"]
    assert basket["items"][0]["title"] == "三国志 1"  # looked up in the library

    # 2000104 is already held by the patron: the library refuses that one only.
    await _place(gw, auth, "2000104")
    confirm = await gw.post(
        f"{T}/basket/holds",
        json={"item_ids": ["2000101", "2000104"], "pickup_library": "NIS"},
        headers=auth,
    )
    assert confirm.status == 200, await confirm.text()
    results = (await confirm.json())["results"]
    assert [(r["item_id"], r["outcome"]) for r in results] == [
        ("2000101", "ok"),
        ("2000104", "refused"),
    ]
    assert results[1]["reason"] == "duplicate_hold"
    basket = await _json(await gw.get(f"{T}/basket", headers=auth))
    assert [i["item_id"] for i in basket["items"]] == ["2000104", "2000105"]
    assert (await gw.delete(f"{T}/basket/items/2000105", headers=auth)).status == 204
    assert (await gw.delete(f"{T}/basket/items/2000105", headers=auth)).status == 404
    assert (await gw.delete(f"{T}/basket", headers=auth)).status == 204
    assert (await _json(await gw.get(f"{T}/basket", headers=auth)))["count"] == 0


async def test_sequence_keeps_its_order_through_the_library_and_blocks_cancel(
    gw,
    sim,
    lists_clock,
) -> None:
    auth = await login(gw)
    h1, h2, h3 = await _place(gw, auth, "2000101", "2000102", "2000103")
    created = await gw.post(f"{T}/hold-sequences", json={"hold_ids": [h1, h2, h3]}, headers=auth)
    assert created.status == 201, await created.text()
    sequence = await created.json()
    assert [m["hold_id"] for m in sequence["members"]] == [h1, h2, h3]
    assert sim.hold_by_id(int(h2)).suspended and sim.hold_by_id(int(h3)).suspended

    holds = {h["id"]: h for h in (await _json(await gw.get(f"{T}/holds", headers=auth)))["holds"]}
    for position, hold_id in enumerate((h1, h2, h3), start=1):
        assert holds[hold_id]["status"] == "waiting"  # held back, but shown as waiting
        assert holds[hold_id]["sequence"]["position"] == position
        assert holds[hold_id]["sequence"]["length"] == 3

    cancel = await gw.delete(f"{T}/holds/{h2}", headers=auth)
    problem = await cancel.json()
    assert cancel.status == 422 and problem["reason"] == "in_sequence"
    skip = await gw.post(f"{T}/holds/{h2}/skip", json={"until": "2026-02-01"}, headers=auth)
    assert skip.status == 422 and (await skip.json())["reason"] == "in_sequence"

    # Volume 3 comes back first: hold 3 stays held back (listing the holds enforces).
    sim.checkin("2000103", "CEN")
    await gw.get(f"{T}/holds", headers=auth)
    assert sim.hold_by_id(int(h3)).state is HoldState.PENDING and sim.hold_by_id(int(h3)).suspended
    # Volume 1 reaches the pickup shelf: hold 2 is released when the patron looks.
    sim.checkin("2000101", "CEN")
    lists_clock.advance(days=2)
    sim.advance()
    auth = await login(gw)  # the clock moved past the session's idle timeout
    holds = {h["id"]: h for h in (await _json(await gw.get(f"{T}/holds", headers=auth)))["holds"]}
    assert holds[h1]["status"] == "ready"
    assert not sim.hold_by_id(int(h2)).suspended
    assert sim.hold_by_id(int(h3)).suspended and holds[h3]["status"] == "waiting"

    # Changing a sequence needs every member waiting: hold 1 is on the shelf now.
    leave = await gw.delete(f"{T}/holds/{h3}/sequence", headers=auth)
    assert leave.status == 422 and (await leave.json())["reason"] == "not_modifiable_in_state"
    listed = await _json(await gw.get(f"{T}/hold-sequences", headers=auth))
    assert [m["hold"]["status"] for m in listed["sequences"][0]["members"]] == [
        "ready",
        "waiting",
        "waiting",
    ]


async def test_leave_and_dissolve_release_the_holds(gw, sim) -> None:
    auth = await login(gw)
    h1, h2, h3 = await _place(gw, auth, "2000101", "2000102", "2000103")
    created = await _json(
        await gw.post(f"{T}/hold-sequences", json={"hold_ids": [h1, h2, h3]}, headers=auth)
    )
    assert (await gw.delete(f"{T}/holds/{h3}/sequence", headers=auth)).status == 204
    assert not sim.hold_by_id(int(h3)).suspended
    assert (await gw.delete(f"{T}/holds/{h3}", headers=auth)).status == 204  # free to cancel
    gone = await gw.delete(f"{T}/hold-sequences/{created['sequence_id']}", headers=auth)
    assert gone.status == 204
    assert not sim.hold_by_id(int(h2)).suspended
    assert (await _json(await gw.get(f"{T}/hold-sequences", headers=auth)))["sequences"] == []
    missing = await gw.delete(f"{T}/hold-sequences/{created['sequence_id']}", headers=auth)
    assert missing.status == 404
    too_short = await gw.post(f"{T}/hold-sequences", json={"hold_ids": [h1]}, headers=auth)
    assert too_short.status == 400


async def test_cancelled_holds_are_kept_listed_and_deletable(gw, lists_clock) -> None:
    auth = await login(gw)
    (hold_id,) = await _place(gw, auth, "2000104")
    assert (await gw.delete(f"{T}/holds/{hold_id}", headers=auth)).status == 204
    history = await _json(await gw.get(f"{T}/cancelled-holds", headers=auth))
    assert (history["retention_days"], history["deletable"]) == (7, True)
    assert [(e["hold_id"], e["title"], e["reason"]) for e in history["entries"]] == [
        (hold_id, "吾輩は猫である", "cancelled")
    ]
    lists_clock.advance(days=8)  # past the retention: hidden at once
    auth = await login(gw)
    assert (await _json(await gw.get(f"{T}/cancelled-holds", headers=auth)))["entries"] == []
    lists_clock.advance(days=-8)
    auth = await login(gw)
    assert (await gw.delete(f"{T}/cancelled-holds/{hold_id}", headers=auth)).status == 204
    assert (await gw.delete(f"{T}/cancelled-holds/{hold_id}", headers=auth)).status == 404


async def test_skip_resume_and_extension_where_koha_has_none(gw, sim, lists_clock) -> None:
    auth = await login(gw)
    (hold_id,) = await _place(gw, auth, "2000104")
    today = lists_clock().date()
    past = await gw.post(
        f"{T}/holds/{hold_id}/skip", json={"until": today.isoformat()}, headers=auth
    )
    assert past.status == 400
    until = (today + timedelta(days=10)).isoformat()
    skipped = await gw.post(f"{T}/holds/{hold_id}/skip", json={"until": until}, headers=auth)
    assert skipped.status == 200, await skipped.text()
    assert (await skipped.json())["status"] == "suspended"
    assert sim.hold_by_id(int(hold_id)).suspended
    resumed = await gw.delete(f"{T}/holds/{hold_id}/skip", headers=auth)
    assert resumed.status == 200 and (await resumed.json())["status"] == "waiting"

    sim.checkin("2000104", "CEN")
    lists_clock.advance(days=1)
    sim.advance()
    auth = await login(gw)
    extension = await gw.post(f"{T}/holds/{hold_id}/pickup-extension", headers=auth)
    problem = await extension.json()
    assert extension.status == 422 and problem["type"].endswith("/hold-refused")
    assert problem["reason"] == "extension_not_allowed"
    assert "図書館にお問い合わせください" in problem["detail"]


async def test_shelves_rules_over_http(gw) -> None:
    auth = await login(gw)
    made = await gw.post(f"{T}/shelves", json={"name": "歴史", "comment": "読む"}, headers=auth)
    assert made.status == 201
    shelf = (await made.json())["shelf_id"]
    other = (await _json(await gw.post(f"{T}/shelves", json={"name": "猫"}, headers=auth)))[
        "shelf_id"
    ]
    third = await gw.post(f"{T}/shelves", json={"name": "三つ目"}, headers=auth)
    assert third.status == 422 and (await third.json())["list"] == "shelves"

    add = await gw.post(f"{T}/shelves/{shelf}/items", json={"item_id": "2000101"}, headers=auth)
    assert add.status == 201 and (await add.json())["title"] == "三国志 1"
    twice = await gw.post(f"{T}/shelves/{shelf}/items", json={"item_id": "2000101"}, headers=auth)
    assert twice.status == 409
    url = f"{T}/shelves/{shelf}/items/2000101"
    rated = await gw.patch(url, json={"rating": 5, "comment": "あ" * 100}, headers=auth)
    assert rated.status == 200 and (await rated.json())["rating"] == 5
    too_long = await gw.patch(url, json={"comment": "あ" * 101}, headers=auth)
    assert too_long.status == 400
    bad_rating = await gw.patch(url, json={"rating": 6}, headers=auth)
    assert bad_rating.status == 400
    cleared = await _json(await gw.patch(url, json={"comment": None}, headers=auth))
    assert (cleared["rating"], cleared["comment"]) == (5, None)  # rating kept, comment cleared

    copied = await gw.post(f"{url}/copy", json={"to_shelf": other}, headers=auth)
    assert copied.status == 201 and (await copied.json())["rating"] == 5
    moved = await gw.post(f"{url}/move", json={"to_shelf": other}, headers=auth)
    assert moved.status == 409  # already there
    listed = await _json(await gw.get(f"{T}/shelves", headers=auth))
    assert [(s["name"], s["item_count"]) for s in listed["shelves"]] == [("歴史", 1), ("猫", 1)]
    renamed = await gw.patch(f"{T}/shelves/{shelf}", json={"name": "れきし"}, headers=auth)
    assert (await renamed.json())["name"] == "れきし"
    assert (await gw.delete(url, headers=auth)).status == 204
    assert (await gw.delete(f"{T}/shelves/{other}", headers=auth)).status == 204
    assert (await gw.get(f"{T}/shelves/{other}/items", headers=auth)).status == 404

    # The kiosk channel: shelves are web only at this library.
    kiosk = await login(gw, **{"X-Kiosk-Key": KIOSK_KEY})
    refused = await gw.get(f"{T}/shelves", headers={**kiosk, "X-Kiosk-Key": KIOSK_KEY})
    problem = await refused.json()
    assert refused.status == 403 and (problem["feature"], problem["channel"]) == (
        "bookshelves",
        "kiosk",
    )


async def test_a_patron_sees_only_their_own_lists(gw) -> None:
    mine = await login(gw)
    theirs = await login(gw, OTHER_CARD, OTHER_PASSWORD)
    shelf = (await _json(await gw.post(f"{T}/shelves", json={"name": "私の"}, headers=mine)))[
        "shelf_id"
    ]
    assert (await _json(await gw.get(f"{T}/shelves", headers=theirs)))["shelves"] == []
    assert (await gw.get(f"{T}/shelves/{shelf}/items", headers=theirs)).status == 404
    assert (await gw.delete(f"{T}/shelves/{shelf}", headers=theirs)).status == 404


async def test_settings_follow_the_address_rules(gw) -> None:
    auth = await login(gw)
    assert (await _json(await gw.get(f"{T}/patron/settings", headers=auth)))["email1"] is None
    bad = await gw.patch(
        f"{T}/patron/settings",
        json={"email1": "hanako.@example.jp", "hold_notice_to": "email2"},
        headers=auth,
    )
    problem = await bad.json()
    assert bad.status == 400
    assert "email1" in problem["detail"] and "hold_notice_to" in problem["detail"]
    good = await gw.patch(
        f"{T}/patron/settings",
        json={
            "email1": "hanako@example.jp",
            "email1_kind": "pc",
            "hold_notice_to": "email1",
            "default_pickup_library": "NIS",
            "due_date_reminder": True,
        },
        headers=auth,
    )
    assert good.status == 202, await good.text()  # the new address waits for its link
    [pending] = (await good.json())["pending_confirmation"]
    assert pending["field"] == "email1" and pending["confirm_sent_to"] == "h***@example.jp"
    rows = await gw.app[GATEWAY_KEY].outbox.repository.list(tenant_id="testlib")
    [link] = [r for r in rows if r.template == "email_confirm"]
    confirmed = await gw.post(f"{T}/account/contact/confirm", json={"token": link.context["token"]})
    assert confirmed.status == 200, await confirmed.text()
    unknown_branch = await gw.patch(
        f"{T}/patron/settings", json={"default_pickup_library": "XXX"}, headers=auth
    )
    assert unknown_branch.status == 400
    history_switch = await gw.patch(
        f"{T}/patron/settings", json={"reading_history_enabled": True}, headers=auth
    )
    assert history_switch.status == 400  # only through the reading-history routes
    kept = await _json(await gw.get(f"{T}/patron/settings", headers=auth))
    assert (kept["email1"], kept["default_pickup_library"], kept["due_date_reminder"]) == (
        "hanako@example.jp",
        "NIS",
        True,
    )
    assert kept["hold_notice_to"] == "email1"  # saved with the address it names


async def test_without_a_store_the_lists_are_switched_off(make_gateway) -> None:
    bare = await make_gateway(store_url=None)
    auth = await login(bare)
    response = await bare.get(f"{T}/shelves", headers=auth)
    assert response.status == 403 and (await response.json())["feature"] == "my_lists"
    # The core routes work as before.
    assert (await bare.get(f"{T}/holds", headers=auth)).status == 200


async def test_a_failed_enforcement_still_shows_the_holds(gw, sim, lists_clock) -> None:
    auth = await login(gw)
    h1, h2 = await _place(gw, auth, "2000101", "2000102")
    created = await gw.post(f"{T}/hold-sequences", json={"hold_ids": [h1, h2]}, headers=auth)
    assert created.status == 201
    sim.checkin("2000101", "CEN")
    lists_clock.advance(days=2)
    sim.advance()
    sim.faults.failure_rate[Operation.RESUME_HOLD] = 1.0  # the library refuses to resume now
    auth = await login(gw)
    listed = await gw.get(f"{T}/holds", headers=auth)
    assert listed.status == 200, await listed.text()
    holds = {h["id"]: h for h in (await listed.json())["holds"]}
    # Shown as the library has it (still suspended, its turn has come), with its place.
    assert holds[h1]["status"] == "ready"
    assert holds[h2]["status"] == "suspended" and holds[h2]["sequence"]["position"] == 2
    assert sim.hold_by_id(int(h2)).suspended
    sim.faults.failure_rate.clear()
    await gw.get(f"{T}/holds", headers=auth)  # the next look releases it
    assert not sim.hold_by_id(int(h2)).suspended
