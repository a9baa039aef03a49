"""Who may log in, as each page says (issue 16): Kanagawa refuses a card with overdue items
(「現在この利用者番号は使えません」), Ibaraki lets an expired card in (its holds are refused), the
others refuse an expired card and let overdue items in to be seen."""

from __future__ import annotations

from ils_gateway.simulators.records import LibraryData

OVERDUE = ("1000000005", "makoto05")  # 田中誠: two overdue loans
EXPIRED = ("1000000003", "ichiro03")  # 鈴木一郎: card expired


def _six_digit_cards(data: LibraryData) -> None:
    for patron in data.patrons:
        if patron.card_number == OVERDUE[0]:
            patron.card_number = "500005"


async def _session(site, card: str, password: str):
    return await site.client.post(
        f"{site.base}/sessions", json={"card_number": card, "password": password}
    )


async def test_kanagawa_refuses_a_card_with_overdue_items(open_site):
    site = await open_site("kanagawa", adjust=_six_digit_cards)
    response = await _session(site, "500005", OVERDUE[1])
    problem = await response.json()
    assert response.status == 403, problem
    assert problem["type"].endswith("/patron-blocked")
    assert problem["blocks"] == ["overdue_items"]


async def test_saitama_lets_overdue_items_in_and_refuses_an_expired_card(open_site):
    site = await open_site("saitama")
    assert (await _session(site, *OVERDUE)).status == 201
    expired = await _session(site, *EXPIRED)
    problem = await expired.json()
    assert expired.status == 403 and problem["blocks"] == ["card_expired"]


async def test_ibaraki_lets_an_expired_card_in_but_places_no_hold(open_site):
    site = await open_site("ibaraki")
    response = await _session(site, *EXPIRED)
    assert response.status == 201, await response.text()
    auth = {"Authorization": f"Bearer {(await response.json())['token']}"}
    assert (await site.client.get(f"{site.base}/loans", headers=auth)).status == 200
    item = site.library.data.items[0].barcode
    placed = await site.client.post(
        f"{site.base}/holds", headers=auth, json={"item_ids": [item], "pickup_library": "CEN"}
    )
    [result] = (await placed.json())["results"]
    # 予約受付を行うことができません: the library system refuses (the gateway passes it on).
    assert result["outcome"] == "refused" and result["reason"] == "card_expired"
